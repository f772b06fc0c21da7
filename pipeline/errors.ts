import { PipelineError } from '../common/errors.js';

/** A queue message whose body is not an S3 event notification. It must end in the DLQ. */
export class MessageFormatError extends PipelineError {
  constructor(message: string, context: { messageId?: string } = {}, cause?: unknown) {
    super('INVALID_MESSAGE', message, { context, cause, retryable: false });
  }
}

/** The uploaded object is gone (deleted before its turn): retrying cannot bring it back. */
export class SourceObjectMissingError extends PipelineError {
  constructor(bucket: string, key: string, cause?: unknown) {
    super('SOURCE_NOT_FOUND', `s3://${bucket}/${key} no longer exists`, { context: { bucket, key }, cause, retryable: false });
  }
}

/** A failure that retrying may fix (network, throttling, 5xx): the message goes back to the queue. */
export class TransientAwsError extends PipelineError {
  constructor(operation: string, context: Record<string, unknown>, cause: unknown) {
    super('TRANSIENT_AWS_ERROR', `${operation} failed: ${(cause as Error)?.message ?? String(cause)}`, { context, cause, retryable: true });
  }
}

const PERMANENT_NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);

/** True when an AWS SDK error says the object does not exist. */
export function isNotFoundError(error: unknown): boolean {
  const candidate = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return PERMANENT_NOT_FOUND.has(candidate?.name ?? '') || candidate?.$metadata?.httpStatusCode === 404;
}
