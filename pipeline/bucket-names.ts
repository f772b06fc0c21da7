/**
 * A general purpose bucket's name as S3 allows it: 3 to 63 of a-z 0-9 . -, a letter or digit at
 * each end, no "..". (Not checked: the IP-address form, which S3 refuses at creation anyway.)
 */
const BUCKET_NAME = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** True when `name` can be a bucket's name (see {@link BUCKET_NAME}). */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name);
}

/** A comma-separated list of bucket names (`sourceBuckets`, `SOURCE_BUCKETS`). */
export const BUCKET_NAME_LIST = new RegExp(
  `^${BUCKET_NAME.source.slice(1, -1)}(,${BUCKET_NAME.source.slice(1, -1)})*$`,
);
