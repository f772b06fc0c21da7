import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/** Where and how the AWS clients connect. Every field is optional: the SDK's defaults apply. */
export interface AwsClientOptions {
  /** Region. Default: the SDK's chain (`AWS_REGION`, profile, …). */
  readonly region?: string;
  /** One endpoint for both services (e.g. the local emulator). Default: `AWS_ENDPOINT_URL_*` / `AWS_ENDPOINT_URL`, else AWS. */
  readonly endpoint?: string;
  /** Static credentials (the local emulator's). Default: the SDK's credential chain. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  /** A profile of ~/.aws/config for the credential chain and region. Default: `AWS_PROFILE`, else `default`. */
  readonly profile?: string;
  /** Attempts per call including retries. Default: the SDK's (3). */
  readonly maxAttempts?: number;
  /**
   * Connection and request timeouts. Default: the SDK's (none: a stalled connection or request
   * waits forever, which a long-running worker must not).
   */
  readonly timeouts?: AwsTimeouts;
}

/** How long a call may take before it fails (and is retried by the SDK). */
export interface AwsTimeouts {
  /** To establish the connection, ms. */
  readonly connectionMs: number;
  /** To the response headers, ms; a call may pass a longer one (a long poll's wait plus a margin). */
  readonly requestMs: number;
  /** The longest silence of a connection, ms, body downloads included: at least any call's request timeout. */
  readonly socketIdleMs: number;
}

/**
 * The HTTP handler settings for {@link AwsTimeouts}. `throwOnRequestTimeout` matters: without it,
 * @smithy/node-http-handler 4 only logs a warning when a request overruns `requestTimeout` and
 * keeps waiting.
 */
function requestHandlerFor(timeouts: AwsTimeouts | undefined) {
  if (!timeouts) return {};
  return {
    requestHandler: {
      connectionTimeout: timeouts.connectionMs,
      requestTimeout: timeouts.requestMs,
      socketTimeout: timeouts.socketIdleMs,
      throwOnRequestTimeout: true,
    },
  };
}

export function customEndpoint(explicit: string | undefined, serviceVariable: string): string | undefined {
  return explicit ?? process.env[serviceVariable] ?? process.env.AWS_ENDPOINT_URL;
}

/** What every client of the project takes from {@link AwsClientOptions}: region, credentials, profile, retries, timeouts. */
export function sharedClientConfig(options: AwsClientOptions) {
  return {
    region: options.region,
    credentials: options.credentials,
    ...(options.profile ? { profile: options.profile } : {}),
    maxAttempts: options.maxAttempts,
    ...requestHandlerFor(options.timeouts),
  };
}

/**
 * An S3 client. With a custom endpoint (an emulator or S3-compatible store) it uses path-style
 * addressing and computes checksums only when an operation requires them, which emulators expect.
 */
export function createS3Client(options: AwsClientOptions = {}): S3Client {
  const endpoint = customEndpoint(options.endpoint, 'AWS_ENDPOINT_URL_S3');
  return new S3Client({
    ...sharedClientConfig(options),
    // The pipeline never uses S3 Express directory buckets; skipping their session-auth step saves
    // CPU on every call.
    disableS3ExpressSessionAuth: true,
    // `cacheMiddleware: true` would save ~0.3 ms of CPU per call but is unsafe here: the cached
    // handler shares one context between concurrent calls, and concurrent GETs to two buckets were
    // measured to read each other's objects (SDK 3.1175). Left at the default (off), as for SQS.
    ...(endpoint
      ? {
          endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
  });
}

/** An SQS client; with a custom endpoint every call goes there, whatever host the queue URL names. */
export function createSqsClient(options: AwsClientOptions = {}): SQSClient {
  const endpoint = customEndpoint(options.endpoint, 'AWS_ENDPOINT_URL_SQS');
  return new SQSClient({
    ...sharedClientConfig(options),
    ...(endpoint ? { endpoint, useQueueUrlAsEndpoint: false } : {}),
  });
}
