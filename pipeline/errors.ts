import { PipelineError } from '../common/errors.js';

/** A queue message whose body is not a usable S3 event notification. Retrying cannot fix it: it goes to the DLQ. */
export class MessageFormatError extends PipelineError {
  constructor(message: string, context: { messageId?: string } = {}, cause?: unknown) {
    super('INVALID_MESSAGE', message, { context, cause, retryable: false });
  }
}

/** The uploaded object is gone (deleted before its turn): retrying cannot bring it back. */
export class SourceObjectMissingError extends PipelineError {
  constructor(bucket: string, key: string, cause?: unknown) {
    super('SOURCE_NOT_FOUND', `s3://${bucket}/${key} no longer exists`, {
      context: { bucket, key },
      cause,
      retryable: false,
    });
  }
}

/**
 * The object no longer has the ETag the event names: it was overwritten, and the newer upload's
 * own event computes its result. The older event is skipped, not stored.
 */
export class SourceSupersededError extends PipelineError {
  constructor(bucket: string, key: string, etag: string, cause?: unknown) {
    super('SOURCE_SUPERSEDED', `s3://${bucket}/${key} no longer has ETag ${etag}: a newer upload replaced it`, {
      context: { bucket, key, etag },
      cause,
      retryable: false,
    });
  }
}

/**
 * The bucket an event or the configuration names does not exist: a configuration error, not a
 * missing image. The message goes back to the queue (and to the DLQ if it persists), and the
 * worker says so loudly.
 */
export class BucketNotFoundError extends PipelineError {
  constructor(bucket: string, cause?: unknown) {
    super('BUCKET_NOT_FOUND', `bucket ${bucket} does not exist: check BUCKET_NAME and the stack's outputs`, {
      context: { bucket },
      cause,
      retryable: true,
    });
  }
}

/** A failure that retrying may fix (network, throttling, 5xx): the message goes back to the queue. */
export class TransientAwsError extends PipelineError {
  constructor(operation: string, context: Record<string, unknown>, cause: unknown) {
    super('TRANSIENT_AWS_ERROR', `${operation} failed: ${(cause as Error)?.message ?? String(cause)}`, {
      context,
      cause,
      retryable: true,
    });
  }
}

/**
 * A result could not be written because other writers kept replacing it between each read and
 * write: retryable, the message goes back to the queue.
 */
export class ResultWriteContendedError extends PipelineError {
  constructor(bucket: string, resultKey: string, rounds: number) {
    super(
      'RESULT_WRITE_CONTENDED',
      `s3://${bucket}/${resultKey} changed under every one of ${rounds} conditional writes`,
      { context: { bucket, resultKey }, retryable: true },
    );
  }
}

/**
 * SQS refused some of the single-record messages a message was split into: retryable, the message
 * goes back to the queue whole.
 */
export class SplitSendError extends PipelineError {
  constructor(queueUrl: string, failed: number, firstFailure: string) {
    super('SPLIT_SEND_FAILED', `SQS refused ${failed} of the single-record messages (${firstFailure})`, {
      context: { queueUrl, failed },
      retryable: true,
    });
  }
}

type AwsFailure = { name?: string; $metadata?: { httpStatusCode?: number } };

/** True when an AWS SDK error says the bucket does not exist. */
export function isNoSuchBucketError(error: unknown): boolean {
  return (error as AwsFailure)?.name === 'NoSuchBucket';
}

/** True when an AWS SDK error says the object does not exist (a missing bucket is not that). */
export function isNotFoundError(error: unknown): boolean {
  const candidate = error as AwsFailure;
  if (isNoSuchBucketError(error)) return false;
  return (
    candidate?.name === 'NoSuchKey' || candidate?.name === 'NotFound' || candidate?.$metadata?.httpStatusCode === 404
  );
}

/** True when S3 refused a conditional write because another one to the key was under way: HTTP 409 ConditionalRequestConflict. */
export function isConflictError(error: unknown): boolean {
  const candidate = error as AwsFailure;
  return candidate?.name === 'ConditionalRequestConflict' || candidate?.$metadata?.httpStatusCode === 409;
}

/** True when a conditional request's precondition (If-Match) failed: HTTP 412. */
export function isPreconditionFailedError(error: unknown): boolean {
  const candidate = error as AwsFailure;
  return candidate?.name === 'PreconditionFailed' || candidate?.$metadata?.httpStatusCode === 412;
}

/** The worker's queue does not exist (a typo in `QUEUE_URL`, a deleted stack): the worker exits. */
export class QueueNotFoundError extends PipelineError {
  constructor(queueUrl: string, cause?: unknown) {
    super('QUEUE_NOT_FOUND', `the queue ${queueUrl} does not exist: check QUEUE_URL`, { context: { queueUrl }, cause });
  }
}

/** Inference runs keep failing (a broken GPU fails every batch): the worker exits and ECS replaces it. */
export class InferenceKeepsFailingError extends PipelineError {
  constructor(failures: number, cause: unknown) {
    super(
      'INFERENCE_KEEPS_FAILING',
      `${failures} inference runs in a row failed; last: ${(cause as Error)?.message ?? String(cause)}`,
      { context: { failures }, cause },
    );
  }
}

/** An HTTP service answered with an error status (the ECS agent, a download server). */
export class HttpStatusError extends PipelineError {
  constructor(what: string, status: number, body: string) {
    super('HTTP_STATUS', `${what} answered HTTP ${status}: ${body.slice(0, 200)}`, {
      context: { status },
      retryable: status >= 500 || status === 429,
    });
  }
}
