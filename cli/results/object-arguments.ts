import { resultsPrefixFor, uploadKeyFor } from '../../pipeline/object-keys.js';
import {
  placeResult,
  sourceOfResultKey,
  sourceResultsPrefix,
  type ObjectLocation,
  type SourceLayout,
} from '../../pipeline/result-location.js';
import { CliError } from '../support/cli-error.js';
import { type Target } from '../target/target.js';

/** The layout of a target's pipeline: its bucket, prefixes and source buckets (for `placeResult`). */
export function sourceLayoutOfTarget(target: Target): SourceLayout {
  return { ...target.layout, bucketName: target.bucket, sourceBuckets: target.sourceBuckets };
}

/**
 * The image (or folder: the key is then a prefix) an argument names:
 * - `s3://bucket/key` — that object, in the pipeline's bucket or one of its source buckets (a
 *   result key there names its image);
 * - a result key (`results/cats/a.jpg.json`, `results/_buckets/my-archive/a.jpg.json`) — its image;
 * - an upload key (`uploads/cats/a.jpg`), or a path below the uploads prefix (`cats/a.jpg`).
 */
export function imageFromArgument(argument: string, target: Target): ObjectLocation {
  const url = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(argument);
  if (url) {
    const [, bucket, key] = url as unknown as [string, string, string];
    if (bucket === target.bucket) return imageOfResultKey(key, target) ?? { bucket, key };
    if (!target.sourceBuckets.includes(bucket))
      throw new CliError(
        `${argument} names bucket ${bucket}, which is neither the pipeline's bucket (${target.bucket}) nor one of its source buckets (${target.sourceBuckets.join(', ') || 'none: -c sourceBuckets'})`,
      );
    return { bucket, key };
  }
  const { uploadsPrefix } = target.layout;
  const image = imageOfResultKey(argument, target);
  if (image) return image;
  if (argument.startsWith(uploadsPrefix)) return { bucket: target.bucket, key: argument };
  return { bucket: target.bucket, key: uploadsPrefix + argument.replace(/^\/+/, '') };
}

/** The image of a result key of the pipeline's bucket, or undefined if `key` is not one. */
function imageOfResultKey(key: string, target: Target): ObjectLocation | undefined {
  const { resultsPrefix } = target.layout;
  if (!key.startsWith(resultsPrefix) || !key.endsWith('.json')) return undefined;
  const source = sourceOfResultKey(key, target.layout);
  if (source) return source;
  try {
    return { bucket: target.bucket, key: uploadKeyFor(key, target.layout) };
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}

/** Where an image's result is (or will be), or what it is if the pipeline labels no such image. */
export function resultKeyOfImage(image: ObjectLocation, target: Target): string {
  const placement = placeResult(image, sourceLayoutOfTarget(target), true);
  if ('skip' in placement)
    throw new CliError(`${describeImage(image, target)} is not an image the pipeline labels (${placement.skip})`);
  return placement.result.key;
}

/** Where the results of every image below a folder live, in the pipeline's bucket. */
export function resultsFolderOf(folder: ObjectLocation, target: Target): string {
  if (folder.bucket === target.bucket && folder.key.startsWith(target.layout.uploadsPrefix))
    return resultsPrefixFor(folder.key, target.layout);
  return sourceResultsPrefix(folder.bucket, folder.key, target.layout);
}

/** An image as the CLI shows it: its key in the pipeline's bucket, `s3://bucket/key` elsewhere. */
export function describeImage(image: ObjectLocation, target: Target): string {
  return image.bucket === target.bucket ? image.key : `s3://${image.bucket}/${image.key}`;
}
