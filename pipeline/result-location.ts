import { createHash } from 'node:crypto';
import { hasImageExtension } from '../model/image-formats.js';
import { JOBS_FOLDER } from './jobs/job-table.js';
import {
  LONG_KEY_RESULTS_FOLDER,
  resultKeyFor,
  S3_MAX_KEY_BYTES,
  skipReasonFor,
  type KeyLayout,
  type SkipReason,
} from './object-keys.js';

/**
 * Below the results prefix, where the results of images that are not uploads live: images in a
 * bucket named with `-c sourceBuckets`, or in the pipeline's bucket outside the uploads prefix.
 * `s3://my-archive/photos/a.jpg` → `results/_buckets/my-archive/photos/a.jpg.json`.
 */
export const SOURCE_RESULTS_FOLDER = '_buckets/';

/**
 * Folders of the uploads prefix that are not uploaded to: their mirrored result keys would be those
 * of {@link SOURCE_RESULTS_FOLDER} or of long keys, so an upload there could overwrite the result of
 * another image. The worker skips them (`reserved-folder`), and `submit` refuses them.
 */
export const RESERVED_UPLOAD_FOLDERS = [SOURCE_RESULTS_FOLDER, LONG_KEY_RESULTS_FOLDER] as const;

/** An object in S3. */
export interface ObjectLocation {
  readonly bucket: string;
  readonly key: string;
}

/** The layout and the buckets a pipeline reads: its own and the ones named at deploy time. */
export interface SourceLayout extends KeyLayout {
  /** The pipeline's bucket, where every result is written. Unset (a bare local worker): the record's bucket. */
  readonly bucketName?: string;
  /** Other buckets the workers may read images of (`-c sourceBuckets`). */
  readonly sourceBuckets: readonly string[];
}

/** Why a record is not processed, beyond the upload rules of {@link skipReasonFor}. */
export type PlacementSkipReason = SkipReason | 'reserved-folder' | 'not-a-source-bucket';

/** Where a record's result goes, or why it is skipped. */
export type ResultPlacement =
  { readonly result: ObjectLocation; readonly fromUploads: boolean } | { readonly skip: PlacementSkipReason };

/** True when `key` is in a folder of the uploads prefix that no upload may use. */
export function isReservedUploadKey(key: string, layout: KeyLayout): boolean {
  return RESERVED_UPLOAD_FOLDERS.some((folder) => key.startsWith(`${layout.uploadsPrefix}${folder}`));
}

/**
 * Where the result of an image goes, one rule for the worker and the CLI:
 * - an upload (the pipeline's bucket, below the uploads prefix) → its mirrored key
 *   (`uploads/a/b.jpg` → `results/a/b.jpg.json`), as always;
 * - an image a job names anywhere else — another bucket of `sourceBuckets`, or the pipeline's bucket
 *   outside the uploads, results and jobs folders — → `results/_buckets/<bucket>/<key>.json` in the
 *   pipeline's bucket (a key that would pass S3's 1,024 bytes: `results/_long-keys/<SHA-256 of
 *   s3://bucket/key>.json`);
 * - S3's own notifications are only trusted for uploads: an image outside them counts only when a
 *   job sent it (`fromJob`).
 */
export function placeResult(object: ObjectLocation, layout: SourceLayout, fromJob: boolean): ResultPlacement {
  const pipelineBucket = layout.bucketName ?? object.bucket;
  const { bucket, key } = object;
  if (bucket === pipelineBucket) {
    if (key.startsWith(layout.uploadsPrefix) && isReservedUploadKey(key, layout)) return { skip: 'reserved-folder' };
    const uploadSkip = skipReasonFor(key, layout);
    if (uploadSkip === undefined)
      return { result: { bucket: pipelineBucket, key: resultKeyFor(key, layout) }, fromUploads: true };
    if (uploadSkip !== 'outside-uploads-prefix' || !fromJob || layout.bucketName === undefined)
      return { skip: uploadSkip };
    if (key.startsWith(JOBS_FOLDER)) return { skip: 'reserved-folder' };
  } else if (!fromJob || !layout.sourceBuckets.includes(bucket)) {
    return { skip: 'not-a-source-bucket' };
  }
  if (!hasImageExtension(key)) return { skip: 'not-an-image-name' };
  return { result: { bucket: pipelineBucket, key: sourceResultKey(object, layout) }, fromUploads: false };
}

/** `results/_buckets/<bucket>/<key>.json`, or its long-key form. */
export function sourceResultKey(object: ObjectLocation, layout: KeyLayout): string {
  const mirrored = `${sourceResultsPrefix(object.bucket, '', layout)}${object.key}.json`;
  if (Buffer.byteLength(mirrored, 'utf8') <= S3_MAX_KEY_BYTES) return mirrored;
  const digest = createHash('sha256').update(`s3://${object.bucket}/${object.key}`, 'utf8').digest('hex');
  return `${layout.resultsPrefix}${LONG_KEY_RESULTS_FOLDER}${digest}.json`;
}

/** Where the results of the images below `s3://bucket/prefix` live (not an upload folder). */
export function sourceResultsPrefix(bucket: string, prefix: string, layout: KeyLayout): string {
  return `${layout.resultsPrefix}${SOURCE_RESULTS_FOLDER}${bucket}/${prefix}`;
}

/**
 * The image a result key of {@link SOURCE_RESULTS_FOLDER} belongs to, or `undefined` for any other
 * key. The bucket is the first folder: a bucket name has no `/`, so the split is unambiguous.
 */
export function sourceOfResultKey(resultKey: string, layout: KeyLayout): ObjectLocation | undefined {
  const folder = `${layout.resultsPrefix}${SOURCE_RESULTS_FOLDER}`;
  if (!resultKey.startsWith(folder) || !resultKey.endsWith('.json')) return undefined;
  const rest = resultKey.slice(folder.length, -'.json'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}
