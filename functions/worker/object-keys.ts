import { hasImageExtension } from '../../model/index.js';

/** Where uploads and results live in the bucket. */
export interface KeyLayout {
  readonly uploadsPrefix: string;
  readonly resultsPrefix: string;
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

/** `uploads/cats/tabby 1.jpg` → `results/cats/tabby 1.jpg.json`. */
export function resultKeyFor(key: string, layout: KeyLayout): string {
  if (!key.startsWith(layout.uploadsPrefix)) throw new RangeError(`${key} is not below ${layout.uploadsPrefix}`);
  return `${layout.resultsPrefix}${key.slice(layout.uploadsPrefix.length)}.json`;
}

/** `uploads/cats/` → `results/cats/`: where the results of everything below an uploads prefix live. */
export function resultsPrefixFor(uploadPrefix: string, layout: KeyLayout): string {
  if (!uploadPrefix.startsWith(layout.uploadsPrefix)) throw new RangeError(`${uploadPrefix} is not below ${layout.uploadsPrefix}`);
  return `${layout.resultsPrefix}${uploadPrefix.slice(layout.uploadsPrefix.length)}`;
}

/** The upload key a result key belongs to: the inverse of {@link resultKeyFor}. */
export function uploadKeyFor(resultKey: string, layout: KeyLayout): string {
  if (!resultKey.startsWith(layout.resultsPrefix) || !resultKey.endsWith('.json')) throw new RangeError(`${resultKey} is not a result key`);
  return `${layout.uploadsPrefix}${resultKey.slice(layout.resultsPrefix.length, -'.json'.length)}`;
}
