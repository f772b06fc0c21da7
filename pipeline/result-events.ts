import type { ResultDocument } from './result-document.js';

/**
 * The event the worker sends to EventBridge when a result is stored: the contract between the
 * worker, the stack's rules and users' own rules (see the README's "Completion events").
 */
export const RESULT_EVENT = {
  source: 'alexnet-pipeline',
  detailType: 'Image result stored',
} as const;

/** The bus the deployed worker sends to: the account's default bus, where users' rules already live. */
export const RESULT_EVENT_BUS = 'default';

/** The event pattern of every stored result of one bucket (add `status` or `topLabel` to narrow it). */
export function resultEventPattern(
  bucket: string,
  detail: Record<string, unknown> = {},
): { source: string[]; 'detail-type': string[]; detail: Record<string, unknown> } {
  return {
    source: [RESULT_EVENT.source],
    'detail-type': [RESULT_EVENT.detailType],
    detail: { bucket: [bucket], ...detail },
  };
}

/** What the event's `detail` carries: enough to act on a result without reading it. */
export interface ResultEventDetail {
  readonly bucket: string;
  /** The upload key. */
  readonly key: string;
  /** Where the result JSON is. */
  readonly resultKey: string;
  readonly status: 'ok' | 'error';
  readonly topLabel?: string;
  readonly topScore?: number;
  readonly labels?: readonly { index: number; label: string; score: number }[];
  readonly error?: { code: string; message: string };
  /** The upload's ETag: with `resultKey`, what a consumer dedupes on (delivery is at least once). */
  readonly etag: string;
  readonly size: number;
  readonly pretrained: boolean;
  readonly weights: string;
  readonly processedAt: string;
}

/** The event detail of a stored result. */
export function resultEventDetail(document: ResultDocument, resultKey: string): ResultEventDetail {
  const common = {
    bucket: document.source.bucket,
    key: document.source.key,
    resultKey,
    etag: document.source.etag,
    size: document.source.size,
    pretrained: document.model.pretrained,
    weights: document.model.weights,
    processedAt: document.processedAt,
  };
  if (document.status === 'ok')
    return {
      ...common,
      status: 'ok',
      topLabel: document.labels[0]!.label,
      topScore: document.labels[0]!.score,
      labels: document.labels,
    };
  return { ...common, status: 'error', error: document.error };
}
