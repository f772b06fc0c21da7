import { RESULT_SCHEMA_VERSION, type ClassificationOutcome, type ModelIdentity } from '../../model/index.js';

/** S3 user metadata on each result object, so idempotency needs a HEAD and not a GET. */
export const RESULT_METADATA = { sourceEtag: 'source-etag', modelSha256: 'model-sha256' } as const;

/** The result object written to `results/<key>.json`. */
export type ResultDocument = {
  readonly schemaVersion: number;
  readonly source: { readonly bucket: string; readonly key: string; readonly etag: string; readonly size: number };
  readonly model: ModelIdentity;
  readonly device: string;
  readonly processedAt: string;
  readonly timings: { readonly downloadMs: number; readonly preprocessMs: number; readonly inferenceMs: number; readonly batchSize: number };
} & ClassificationOutcome;

/** Builds a result document; the outcome part has the same shape as a `classify` line. */
export function buildResultDocument(fields: Omit<ResultDocument, 'schemaVersion' | 'processedAt' | keyof ClassificationOutcome> & { outcome: ClassificationOutcome; processedAt: Date }): ResultDocument {
  const { outcome, processedAt, ...rest } = fields;
  return { schemaVersion: RESULT_SCHEMA_VERSION, ...outcome, ...rest, processedAt: processedAt.toISOString() } as ResultDocument;
}

/** ETags arrive quoted from S3 APIs and bare in events; compare them bare. */
export function normalizeEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}
