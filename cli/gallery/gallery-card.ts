import type { ResultDocument } from '../../pipeline/result-document.js';
import type { ListedObject } from '../../pipeline/s3-operations.js';

/** What the page shows of one image: its upload, and its result once there is one. */
export interface GalleryCard {
  /** The upload key, byte for byte: the card's `data-key`. */
  readonly key: string;
  /** The folder below the gallery's root ('' for the root itself, else ending in '/'). */
  readonly folder: string;
  readonly name: string;
  /** The upload's ETag: thumbnails are cached under it. */
  readonly etag: string;
  readonly size: number;
  readonly uploadedAt?: string;
  readonly status: 'pending' | 'ok' | 'error';
  /** ok: the top-k labels with their scores, best first. */
  readonly labels?: ReadonlyArray<{ readonly label: string; readonly score: number }>;
  /** error: the result's error, or why the result object could not be read. */
  readonly error?: { readonly code: string; readonly message: string };
  readonly processedAt?: string;
  readonly device?: string;
  /** False when the labels come from untrained weights: the page then shows the notice. */
  readonly pretrained?: boolean;
  readonly weights?: string;
  /** pending: the image was replaced after its last result, which is not shown. */
  readonly replaced?: boolean;
}

/**
 * What a card needs of a result object — its outcome and context, and the ETag of the image it was
 * computed from — or why the object is not a result. Small, so that it can be kept on disk by ETag.
 */
export type ResultSummary =
  | {
      readonly status: 'ok' | 'error';
      readonly labels?: ReadonlyArray<{ readonly label: string; readonly score: number }>;
      readonly error?: { readonly code: string; readonly message: string };
      readonly sourceEtag: string;
      readonly processedAt: string;
      readonly device: string;
      readonly pretrained: boolean;
      readonly weights: string;
    }
  | { readonly problem: string };

/** A parsed result object as a {@link ResultSummary}. */
export function summarizeResult(parsed: { document: ResultDocument } | { problem: string }): ResultSummary {
  if ('problem' in parsed) return { problem: parsed.problem };
  const { document } = parsed;
  const context = {
    sourceEtag: document.source.etag,
    processedAt: document.processedAt,
    device: document.device,
    pretrained: document.model.pretrained,
    weights: document.model.weights,
  };
  if (document.status === 'ok')
    return { status: 'ok', labels: document.labels.map(({ label, score }) => ({ label, score })), ...context };
  return { status: 'error', error: { code: document.error.code, message: document.error.message }, ...context };
}

/** True when a value read back from the cache file has the shape of a {@link ResultSummary} (else it is read again from the bucket). */
export function isResultSummary(value: unknown): value is ResultSummary {
  const summary = value as Record<string, unknown> | null;
  if (typeof summary !== 'object' || summary === null) return false;
  if (typeof summary.problem === 'string') return true;
  const common =
    typeof summary.sourceEtag === 'string' &&
    typeof summary.processedAt === 'string' &&
    typeof summary.device === 'string' &&
    typeof summary.pretrained === 'boolean' &&
    typeof summary.weights === 'string';
  if (summary.status === 'ok')
    return (
      common &&
      Array.isArray(summary.labels) &&
      summary.labels.every((entry) => typeof entry?.label === 'string' && typeof entry?.score === 'number')
    );
  const error = summary.error as Record<string, unknown> | undefined;
  return summary.status === 'error' && common && typeof error?.code === 'string' && typeof error.message === 'string';
}

/** The card of an upload under `root`, given what its result object holds (nothing yet: pending). */
export function cardOf(upload: ListedObject, root: string, result: ResultSummary | undefined): GalleryCard {
  const relative = upload.key.slice(root.length);
  const slash = relative.lastIndexOf('/');
  const base = {
    key: upload.key,
    folder: relative.slice(0, slash + 1),
    name: relative.slice(slash + 1),
    etag: upload.etag,
    size: upload.size,
    ...(upload.lastModified ? { uploadedAt: upload.lastModified.toISOString() } : {}),
  };
  if (!result) return { ...base, status: 'pending' };
  if ('problem' in result)
    return {
      ...base,
      status: 'error',
      error: { code: 'UNREADABLE_RESULT', message: `the result object is not a result: ${result.problem}` },
    };
  // A result of an earlier version of the image: the new one is queued or being processed.
  if (upload.etag && result.sourceEtag && result.sourceEtag !== upload.etag)
    return { ...base, status: 'pending', replaced: true };
  const context = {
    processedAt: result.processedAt,
    device: result.device,
    pretrained: result.pretrained,
    weights: result.weights,
  };
  if (result.status === 'ok') return { ...base, status: 'ok', labels: result.labels ?? [], ...context };
  return { ...base, status: 'error', error: result.error ?? { code: 'ERROR', message: '' }, ...context };
}
