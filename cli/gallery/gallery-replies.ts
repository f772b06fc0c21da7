import { S3ServiceException } from '@aws-sdk/client-s3';
import { SQSServiceException } from '@aws-sdk/client-sqs';
import { errorCodes } from 'fastify';
import { CliError } from '../support/cli-error.js';
import { GalleryRequestError } from './gallery-errors.js';

/**
 * The page may run only its own script and style, load images only from this server, and talk only
 * to it; no other site may frame it, and the token in its URL is never sent as a referrer.
 */
export const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/** What the gallery answers for an error: its status and `{ code, message }`, and whether its terminal should log it. */
export interface ErrorReply {
  readonly status: number;
  readonly body: { readonly code: string; readonly message: string };
  /** True for a failure of the gallery or its storage (logged); false for a refused request. */
  readonly failure: boolean;
}

/**
 * Every refusal and failure as `{ error: { code, message } }`: no stack, nothing of the server's
 * environment. Decided by the error's type: the gallery's own refusals, Fastify's body limit and
 * other client errors, a missing bucket or an S3/SQS error (502, explained as the CLI explains it),
 * and anything else (500).
 */
export function errorReply(error: unknown, maxBytes: number, explain: (error: Error) => string): ErrorReply {
  if (error instanceof GalleryRequestError)
    return { status: error.statusCode, body: { code: error.code, message: error.message }, failure: false };
  if (error instanceof errorCodes.FST_ERR_CTP_BODY_TOO_LARGE)
    return {
      status: 413,
      body: { code: 'FILE_TOO_LARGE', message: `uploads may have at most ${maxBytes} bytes` },
      failure: false,
    };
  const storage = error instanceof S3ServiceException || error instanceof SQSServiceException;
  if (storage || (error instanceof CliError && error.code === 'NO_SUCH_BUCKET'))
    return { status: 502, body: { code: 'STORAGE_FAILED', message: explain(error as Error) }, failure: true };
  const statusCode = (error as { statusCode?: unknown }).statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      status: statusCode,
      body: { code: 'BAD_REQUEST', message: (error as Error).message ?? 'bad request' },
      failure: false,
    };
  }
  return {
    status: 500,
    body: { code: 'INTERNAL_ERROR', message: 'the gallery failed; its terminal has the details (LOG_LEVEL=debug)' },
    failure: true,
  };
}

/** What a card shows for an image that has no thumbnail (not an image, too large). */
export const PLACEHOLDER_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="120" viewBox="0 0 160 120"><rect width="160" height="120" fill="#eee"/><path d="M50 85l25-30 18 20 12-12 15 22z" fill="#bbb"/><circle cx="62" cy="42" r="8" fill="#bbb"/><line x1="30" y1="20" x2="130" y2="100" stroke="#c33" stroke-width="4"/></svg>';
