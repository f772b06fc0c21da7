import type { ResultDocument } from '../../pipeline/result-document.js';

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

/** A listed upload, before its result is known. */
export interface ListedUpload {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified?: Date;
}

/** A result object as read back: its document, or why it is not one. */
export type ResultReadBack = { readonly document: ResultDocument } | { readonly problem: string } | undefined;

/** The card of an upload under `root`, given what its result object holds (nothing yet: pending). */
export function cardOf(upload: ListedUpload, root: string, result: ResultReadBack): GalleryCard {
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
  if ('problem' in result) return { ...base, status: 'error', error: { code: 'UNREADABLE_RESULT', message: `the result object is not a result: ${result.problem}` } };
  const document = result.document;
  // A result of an earlier version of the image: the new one is queued or being processed.
  if (upload.etag && document.source.etag && document.source.etag !== upload.etag) return { ...base, status: 'pending', replaced: true };
  const context = { processedAt: document.processedAt, device: document.device, pretrained: document.model.pretrained, weights: document.model.weights };
  if (document.status === 'ok') return { ...base, status: 'ok', labels: document.labels.map(({ label, score }) => ({ label, score })), ...context };
  return { ...base, status: 'error', error: { code: document.error.code, message: document.error.message }, ...context };
}
