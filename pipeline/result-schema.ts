import { z } from 'zod';
import { RESULT_SCHEMA_VERSION, type ResultDocument } from './result-document.js';
import { PRECISIONS } from '../model/constants.js';

/**
 * Bounds on the numbers a result holds, as the columns that load them need (a stored object is
 * untrusted: one `size` of 1e300 or `batchSize` of 1e12 must become an unreadable row, not a failed
 * query). Far above anything real: a class index of ImageNet-22k, S3's 5 TB objects, a day of work.
 */
const RESULT_BOUNDS = {
  classIndex: 100_000,
  batchSize: 65_536,
  objectBytes: Number.MAX_SAFE_INTEGER,
  milliseconds: 86_400_000,
} as const;

const milliseconds = z.number().min(0).max(RESULT_BOUNDS.milliseconds);
const labelScore = z.object({
  index: z.number().int().min(0).max(RESULT_BOUNDS.classIndex),
  label: z.string(),
  score: z.number(),
});

/** What every stored result carries after its outcome (kept in the order results are written). */
const resultContext = {
  source: z.object({
    bucket: z.string(),
    key: z.string(),
    etag: z.string(),
    size: z.number().int().min(0).max(RESULT_BOUNDS.objectBytes),
  }),
  // Results written before int8 models existed carry no precision: they were fp32.
  model: z.object({
    sha256: z.string(),
    weights: z.string(),
    pretrained: z.boolean(),
    precision: z.enum(PRECISIONS).default('fp32'),
  }),
  fingerprint: z.string().optional(),
  device: z.enum(['cpu', 'cuda']),
  timings: z.object({
    downloadMs: milliseconds.optional(),
    preprocessMs: milliseconds,
    inferenceMs: milliseconds,
    batchSize: z.number().int().min(0).max(RESULT_BOUNDS.batchSize),
  }),
  // ISO 8601 as toISOString writes it (an offset is accepted too): what TIMESTAMPTZ and Athena read.
  processedAt: z.iso.datetime({ offset: true }),
};

/**
 * The stored result object as a schema, for everything that reads results back from a bucket —
 * which anyone with write access could have put there: `results`, the gallery, the query table.
 */
export const resultDocumentSchema = z.union([
  z.object({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    status: z.literal('ok'),
    labels: z.array(labelScore).min(1),
    ...resultContext,
  }),
  z.object({
    schemaVersion: z.literal(RESULT_SCHEMA_VERSION),
    status: z.literal('error'),
    error: z.object({ code: z.string(), message: z.string() }),
    ...resultContext,
  }),
]);

/** A result object's text as a {@link ResultDocument}, or why it is not one. */
export function parseResultDocument(text: string): { document: ResultDocument } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
  const parsed = resultDocumentSchema.safeParse(value);
  if (!parsed.success)
    return {
      problem: `not a result document (${parsed.error.issues[0]?.path.join('.') || 'root'}: ${parsed.error.issues[0]?.message})`,
    };
  return { document: parsed.data as ResultDocument };
}
