import { PipelineError } from '../../common/errors.js';
import { ImageError, ModelError } from '../../model/index.js';
import {
  BucketNotFoundError,
  MessageFormatError,
  SourceObjectMissingError,
  SourceSupersededError,
} from '../../pipeline/errors.js';
import type { LeaseEnd } from './message-lease.js';

/**
 * What a failure means for the image and the worker:
 * - `image-error`: the image itself cannot be classified; an error result is stored.
 * - `superseded`: a newer upload replaced the object; this event is skipped.
 * - `transient`: retrying may work (network, throttling, 5xx, a failed inference run): back to the queue.
 * - `configuration`: the setup is wrong (a missing bucket); back to the queue, and said loudly.
 * - `fatal`: this worker cannot go on (its inference thread died or is stuck, its model cannot
 *   load); it releases its messages and exits non-zero, and ECS replaces the task.
 */
export type FailureKind = 'image-error' | 'superseded' | 'transient' | 'configuration' | 'fatal';

const FATAL_MODEL_ERRORS = new Set<string>([
  'INFERENCE_THREAD_EXITED',
  'INFERENCE_TIMEOUT',
  'MODEL_NOT_FOUND',
  'MODEL_INVALID',
  'DEVICE_UNAVAILABLE',
]);

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

/** Where in a record's work something happened: the image's classification, its result's write, its event, reading a stored result back for its event, or counting it in its job. */
export type RecordStep = 'classify' | 'store' | 'publish' | 'read-stored' | 'count';

/** What happened to a record: a success of some sort, or a failure of a kind at a step. */
export type RecordEvent =
  | { readonly happened: 'skipped' | 'duplicate' | 'stored' | 'error-stored' | 'older-than-stored' }
  | { readonly happened: 'failed'; readonly step: RecordStep; readonly kind: FailureKind };

/** The counters a record can move (part of the worker's stats). */
export type RecordCounter = 'classified' | 'errorResults' | 'skipped' | 'duplicates' | 'superseded' | 'retried';

/**
 * What the worker does about a record event:
 * - `end`: the record ends with `outcome`;
 * - `store-error-result`: the image cannot be classified: store its error result (which may fail in turn);
 * - `fail-worker`: rethrow to the queue consumer, which releases everything and exits.
 */
export interface RecordDecision {
  readonly outcome: RecordOutcome;
  readonly action: 'end' | 'store-error-result' | 'fail-worker';
  readonly counter?: RecordCounter;
  readonly level: 'info' | 'warn' | 'error' | 'fatal';
  /** The log line; none for a plain stored result (the batch's line says it). */
  readonly message?: string;
}

const SUCCESSES: Record<Exclude<RecordEvent['happened'], 'failed'>, RecordDecision> = {
  skipped: { outcome: 'skipped', action: 'end', counter: 'skipped', level: 'info', message: 'record skipped' },
  duplicate: {
    outcome: 'duplicate',
    action: 'end',
    counter: 'duplicates',
    level: 'info',
    message: 'result already stored for this ETag and fingerprint; not recomputed',
  },
  stored: { outcome: 'stored', action: 'end', counter: 'classified', level: 'info' },
  'error-stored': { outcome: 'error-stored', action: 'end', counter: 'errorResults', level: 'info' },
  'older-than-stored': {
    outcome: 'superseded',
    action: 'end',
    counter: 'superseded',
    level: 'info',
    message: 'a newer version of the image has its result stored already; this older one is not written',
  },
};

const RETRY = { outcome: 'retry', action: 'end', counter: 'retried' } as const;

/** A failure after the image was classified sends the message back; a configuration error is said louder. */
function retried(message: string, configurationMessage: string): Record<Exclude<FailureKind, 'fatal'>, RecordDecision> {
  const retry: RecordDecision = { ...RETRY, level: 'warn', message };
  return {
    'image-error': retry,
    superseded: retry,
    transient: retry,
    configuration: { ...RETRY, level: 'error', message: configurationMessage },
  };
}

/** Failures by step, then kind. A fatal failure fails the worker at any step. */
const FAILURES: Record<RecordStep, Record<Exclude<FailureKind, 'fatal'>, RecordDecision>> = {
  classify: {
    'image-error': {
      outcome: 'error-stored',
      action: 'store-error-result',
      level: 'warn',
      message: 'image cannot be classified; storing an error result',
    },
    superseded: {
      outcome: 'superseded',
      action: 'end',
      counter: 'superseded',
      level: 'info',
      message: 'event superseded by a newer upload of the same key; skipped',
    },
    transient: { ...RETRY, level: 'warn', message: 'transient failure; the message goes back to the queue' },
    configuration: {
      ...RETRY,
      level: 'error',
      message: 'configuration error: the message goes back to the queue until it is fixed',
    },
  },
  store: retried(
    'result could not be stored; the message goes back to the queue',
    'configuration error: the result cannot be stored; the message goes back to the queue',
  ),
  publish: retried(
    'result stored, but its event could not be sent; the message goes back to the queue to send it again',
    'configuration error: a stored result’s event cannot be sent; the message goes back to the queue',
  ),
  count: retried(
    'result stored, but its job could not count it (or its completion event is pending); the message goes back to the queue',
    'configuration error: the job table cannot be written; the message goes back to the queue',
  ),
  'read-stored': retried(
    'stored result could not be read to send its event; the message goes back to the queue',
    'configuration error: a stored result cannot be read; the message goes back to the queue',
  ),
};

const FAIL_WORKER: RecordDecision = { outcome: 'retry', action: 'fail-worker', level: 'fatal' };

/**
 * The worker's one record policy: what an event (a success, or a failure of a kind at a step)
 * becomes — the record's outcome, the counter it moves, the log level and line, and what the
 * worker does next. Pure; `ImageJobRunner` calls it from its single `catch` and its returns.
 */
export function decideRecord(event: RecordEvent): RecordDecision {
  if (event.happened !== 'failed') return SUCCESSES[event.happened];
  if (event.kind === 'fatal') return FAIL_WORKER;
  return FAILURES[event.step][event.kind];
}

/**
 * How a message's lease ends: deleted once every record is done (a stored result, an error
 * result, a skip, a duplicate, a superseded event), retried if any record must be tried again,
 * dead-lettered at once when the body is not a usable S3 event (retrying cannot fix it), and
 * retried for anything else that went wrong.
 */
export function decideLeaseEnd(
  handled: { readonly records: readonly RecordOutcome[] } | { readonly error: unknown },
): LeaseEnd {
  if ('records' in handled) return handled.records.every((outcome) => outcome !== 'retry') ? 'delete' : 'retry';
  return handled.error instanceof MessageFormatError ? 'dead-letter' : 'retry';
}
