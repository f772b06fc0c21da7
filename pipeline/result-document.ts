import type { ClassificationOutcome, Device, ModelIdentity } from '../model/index.js';

/** Version of the result shape; bump it when a field changes meaning or goes away. */
export const RESULT_SCHEMA_VERSION = 1;

/**
 * S3 user metadata on each result object, so idempotency and ordering need a HEAD and not a GET:
 * the source's ETag, the result's fingerprint, and the sequencer of the event it answered (none for
 * a record without one), which orders it against results for other versions of the same image.
 */
export const RESULT_METADATA = {
  sourceEtag: 'source-etag',
  fingerprint: 'result-fingerprint',
  sourceSequencer: 'source-sequencer',
} as const;

/** How long each stage took for one image, in milliseconds, and the size of its inference batch. */
export interface ResultTimings {
  /** Worker only: the S3 download. */
  readonly downloadMs?: number;
  readonly preprocessMs: number;
  readonly inferenceMs: number;
  readonly batchSize: number;
}

/** The S3 object a stored result describes. */
export interface ResultSource {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

/** What every result carries, wherever it is written. */
export type ResultBody = {
  readonly schemaVersion: number;
  readonly model: ModelIdentity;
  /** What the result was computed with (see `resultFingerprint`). */
  readonly fingerprint: string;
  readonly device: Device;
  readonly timings: ResultTimings;
  readonly processedAt: string;
} & ClassificationOutcome;

/** The result object the worker writes to `results/<key below uploads/>.json`. */
export type ResultDocument = ResultBody & { readonly source: ResultSource };

/** One line of `classify` output: the same shape, with the local file instead of the S3 source. */
export type ClassifyResultLine = ResultBody & { readonly file: string };

/** The fields a result is built from. */
export interface ResultFields {
  readonly outcome: ClassificationOutcome;
  readonly model: ModelIdentity;
  readonly fingerprint: string;
  readonly device: Device;
  readonly timings: ResultTimings;
  readonly processedAt: Date;
}

/**
 * Builds a result: the one place its shape is written, for the worker's stored results
 * (`origin` = `{ source }`) and `classify`'s lines (`origin` = `{ file }`). Timings are rounded
 * to whole milliseconds.
 */
export function buildResult(origin: { source: ResultSource }, fields: ResultFields): ResultDocument;
export function buildResult(origin: { file: string }, fields: ResultFields): ClassifyResultLine;
export function buildResult(
  origin: { source: ResultSource } | { file: string },
  fields: ResultFields,
): ResultDocument | ClassifyResultLine {
  const { downloadMs, preprocessMs, inferenceMs, batchSize } = fields.timings;
  return {
    schemaVersion: RESULT_SCHEMA_VERSION,
    ...fields.outcome,
    ...origin,
    model: fields.model,
    fingerprint: fields.fingerprint,
    device: fields.device,
    timings: {
      ...(downloadMs === undefined ? {} : { downloadMs: Math.round(downloadMs) }),
      preprocessMs: Math.round(preprocessMs),
      inferenceMs: Math.round(inferenceMs),
      batchSize,
    },
    processedAt: fields.processedAt.toISOString(),
  };
}

/** ETags arrive quoted from S3 APIs and bare in events; compare them bare. */
export function normalizeEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}
