import { PipelineError } from '../../common/errors.js';
import { ImageError, ModelError } from '../../model/index.js';
import { BucketNotFoundError, MessageFormatError, SourceObjectMissingError, SourceSupersededError } from '../../pipeline/errors.js';
import type { LeaseEnd } from './message-lease.js';

/**
 * What a failure means for the image and the worker — the one place the worker decides:
 * - `image-error`: the image itself cannot be classified; an error result is stored.
 * - `superseded`: a newer upload replaced the object; this event is skipped.
 * - `transient`: retrying may work (network, throttling, 5xx, a failed inference run): back to the queue.
 * - `configuration`: the setup is wrong (a missing bucket); back to the queue, and said loudly.
 * - `fatal`: this worker cannot go on (its inference thread died or is stuck, its model cannot
 *   load); it releases its messages and exits non-zero, and ECS replaces the task.
 */
export type FailureKind = 'image-error' | 'superseded' | 'transient' | 'configuration' | 'fatal';

const FATAL_MODEL_ERRORS = new Set<string>(['INFERENCE_THREAD_EXITED', 'INFERENCE_TIMEOUT', 'MODEL_NOT_FOUND', 'MODEL_INVALID', 'DEVICE_UNAVAILABLE']);

/** Classifies anything thrown while an image is processed. An unknown error is retried (and dead-lettered if it persists). */
export function classifyFailure(error: unknown): FailureKind {
  if (error instanceof ModelError) return FATAL_MODEL_ERRORS.has(error.code) ? 'fatal' : 'transient';
  if (error instanceof ImageError || error instanceof SourceObjectMissingError) return 'image-error';
  if (error instanceof SourceSupersededError) return 'superseded';
  if (error instanceof BucketNotFoundError) return 'configuration';
  if (error instanceof PipelineError) return error.retryable ? 'transient' : 'image-error';
  return 'transient';
}

/** How one S3 record of a message ended. */
export type RecordOutcome = 'stored' | 'error-stored' | 'skipped' | 'duplicate' | 'superseded' | 'retry';

/**
 * How a message's lease ends: deleted once every record is done (a stored result, an error
 * result, a skip, a duplicate, a superseded event), retried if any record must be tried again,
 * dead-lettered at once when the body is not a usable S3 event (retrying cannot fix it), and
 * retried for anything else that went wrong.
 */
export function decideLeaseEnd(handled: { readonly records: readonly RecordOutcome[] } | { readonly error: unknown }): LeaseEnd {
  if ('records' in handled) return handled.records.every((outcome) => outcome !== 'retry') ? 'delete' : 'retry';
  return handled.error instanceof MessageFormatError ? 'dead-letter' : 'retry';
}
