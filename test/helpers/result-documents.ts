import { buildResult, type ResultDocument } from '../../pipeline/result-document.js';

const model = { sha256: 'a'.repeat(64), weights: 'untrained:test', pretrained: false, precision: 'fp32' as const };

/** A stored result as the worker writes it: ok with `labels`, or an error with `code`. */
export function resultDocument(
  key: string,
  outcome: { labels: Array<[string, number]> } | { code: string; message?: string },
  processedAt = '2026-11-28T12:00:00Z',
): ResultDocument {
  return buildResult(
    { source: { bucket: 'bucket', key, etag: `etag-${key.length}`, size: 1000 + key.length } },
    {
      outcome:
        'labels' in outcome
          ? { status: 'ok', labels: outcome.labels.map(([label, score], i) => ({ index: 281 + i, label, score })) }
          : { status: 'error', error: { code: outcome.code, message: outcome.message ?? 'cannot be decoded' } },
      model,
      fingerprint: 'f'.repeat(32),
      device: 'cpu',
      timings: { downloadMs: 3, preprocessMs: 4, inferenceMs: 20, batchSize: 8 },
      processedAt: new Date(processedAt),
    },
  );
}
