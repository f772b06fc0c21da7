import { createHash } from 'node:crypto';
import { hasImageExtension } from '../model/image-formats.js';
import { WORKER_SETTINGS } from './worker-settings.js';

/** Where uploads and results live in the bucket. */
export interface KeyLayout {
  readonly uploadsPrefix: string;
  readonly resultsPrefix: string;
}

/** `uploads/` and `results/`. */
export const DEFAULT_KEY_LAYOUT: KeyLayout = {
  uploadsPrefix: WORKER_SETTINGS.uploadsPrefix.default,
  resultsPrefix: WORKER_SETTINGS.resultsPrefix.default,
};

/** What a key prefix must look like, for messages. */
export const KEY_PREFIX_RULE = 'must be a key prefix that ends with "/" and does not start with one (e.g. "uploads/")';

/** True when `prefix` is a usable key prefix (see {@link KEY_PREFIX_RULE}). */
export function isKeyPrefix(prefix: string): boolean {
  return /^[^/].*\/$/s.test(prefix);
}

/**
 * The rules a key layout must keep, for the worker's configuration and the stack's parameters
 * alike: each prefix well formed, and the two not overlapping (results below the uploads prefix
 * would trigger the pipeline again). Returns one problem per broken rule, naming the field.
 */
export function keyLayoutProblems(layout: KeyLayout): Array<{ field: keyof KeyLayout; message: string }> {
  const problems: Array<{ field: keyof KeyLayout; message: string }> = [];
  for (const field of ['uploadsPrefix', 'resultsPrefix'] as const) {
    if (!isKeyPrefix(layout[field])) problems.push({ field, message: `${KEY_PREFIX_RULE}, got "${layout[field]}"` });
  }
  if (
    problems.length === 0 &&
    (layout.uploadsPrefix.startsWith(layout.resultsPrefix) || layout.resultsPrefix.startsWith(layout.uploadsPrefix))
  ) {
    problems.push({
      field: 'resultsPrefix',
      message: `must not overlap the uploads prefix ("${layout.uploadsPrefix}"), or results would trigger the pipeline, got "${layout.resultsPrefix}"`,
    });
  }
  return problems;
}

/** Why a record is not processed; `undefined` means it is an image to classify. */
export type SkipReason = 'results-prefix' | 'outside-uploads-prefix' | 'not-an-image-name' | 'other-bucket';

/** Decides whether an uploaded key is an image job (results never are: no loops). */
export function skipReasonFor(key: string, layout: KeyLayout): SkipReason | undefined {
  if (key.startsWith(layout.resultsPrefix)) return 'results-prefix';
  if (!key.startsWith(layout.uploadsPrefix)) return 'outside-uploads-prefix';
  if (!hasImageExtension(key)) return 'not-an-image-name';
  return undefined;
}

/** S3 keys are at most this many bytes of UTF-8. */
export const S3_MAX_KEY_BYTES = 1024;

/** Where the results of uploads whose result key would be too long go, below the results prefix. */
export const LONG_KEY_RESULTS_FOLDER = '_long-keys/';

/**
 * `uploads/cats/tabby 1.jpg` → `results/cats/tabby 1.jpg.json`. When that would pass S3's 1,024
 * bytes (an upload key of 1,020 bytes or so), the result goes to a short key that depends on the
 * upload key alone: `results/_long-keys/<SHA-256 of the upload key>.json`.
 */
export function resultKeyFor(key: string, layout: KeyLayout): string {
  if (!key.startsWith(layout.uploadsPrefix)) throw new RangeError(`${key} is not below ${layout.uploadsPrefix}`);
  const mirrored = `${layout.resultsPrefix}${key.slice(layout.uploadsPrefix.length)}.json`;
  if (Buffer.byteLength(mirrored, 'utf8') <= S3_MAX_KEY_BYTES) return mirrored;
  return `${layout.resultsPrefix}${LONG_KEY_RESULTS_FOLDER}${createHash('sha256').update(key, 'utf8').digest('hex')}.json`;
}

/** True when an upload's result goes to the long-keys folder (see {@link resultKeyFor}). */
export function hasLongKeyResult(key: string, layout: KeyLayout): boolean {
  return resultKeyFor(key, layout).startsWith(`${layout.resultsPrefix}${LONG_KEY_RESULTS_FOLDER}`);
}

/** `uploads/cats/` → `results/cats/`: where the results of everything below an uploads prefix live. */
export function resultsPrefixFor(uploadPrefix: string, layout: KeyLayout): string {
  if (!uploadPrefix.startsWith(layout.uploadsPrefix))
    throw new RangeError(`${uploadPrefix} is not below ${layout.uploadsPrefix}`);
  return `${layout.resultsPrefix}${uploadPrefix.slice(layout.uploadsPrefix.length)}`;
}

/** The upload key a result key belongs to: the inverse of {@link resultKeyFor} (a long-key result's upload key is in its `source.key`). */
export function uploadKeyFor(resultKey: string, layout: KeyLayout): string {
  if (!resultKey.startsWith(layout.resultsPrefix) || !resultKey.endsWith('.json'))
    throw new RangeError(`${resultKey} is not a result key`);
  if (resultKey.startsWith(`${layout.resultsPrefix}${LONG_KEY_RESULTS_FOLDER}`))
    throw new RangeError(
      `${resultKey} holds the result of an upload key too long to mirror; its source.key names the upload`,
    );
  return `${layout.uploadsPrefix}${resultKey.slice(layout.resultsPrefix.length, -'.json'.length)}`;
}
