import { z } from 'zod';
import { RESULT_SCHEMA_VERSION, type ResultDocument } from './result-document.js';

const labelScore = z.object({ index: z.number().int().min(0), label: z.string(), score: z.number() });

/** What every stored result carries after its outcome (kept in the order results are written). */
const resultContext = {
  source: z.object({ bucket: z.string(), key: z.string(), etag: z.string(), size: z.number() }),
  model: z.object({ sha256: z.string(), weights: z.string(), pretrained: z.boolean() }),
  fingerprint: z.string().optional(),
  device: z.enum(['cpu', 'cuda']),
  timings: z.object({ downloadMs: z.number().optional(), preprocessMs: z.number(), inferenceMs: z.number(), batchSize: z.number() }),
  processedAt: z.string(),
};

/**
 * The stored result object as a schema, for everything that reads results back from a bucket —
 * which anyone with write access could have put there: `results`, the gallery, the query table.
 */
export const resultDocumentSchema = z.union([
  z.object({ schemaVersion: z.literal(RESULT_SCHEMA_VERSION), status: z.literal('ok'), labels: z.array(labelScore).min(1), ...resultContext }),
  z.object({ schemaVersion: z.literal(RESULT_SCHEMA_VERSION), status: z.literal('error'), error: z.object({ code: z.string(), message: z.string() }), ...resultContext }),
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
  if (!parsed.success) return { problem: `not a result document (${parsed.error.issues[0]?.path.join('.') || 'root'}: ${parsed.error.issues[0]?.message})` };
  return { document: parsed.data as ResultDocument };
}
