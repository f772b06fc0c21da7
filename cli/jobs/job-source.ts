import type { JobSource } from '../../pipeline/jobs/job-store.js';
import { JOBS_FOLDER } from '../../pipeline/jobs/job-table.js';
import { isReservedUploadKey } from '../../pipeline/result-location.js';
import { CliError } from '../support/cli-error.js';
import { normalizeFolderPrefix } from '../support/option-parsers.js';
import type { Target } from '../target/target.js';

/**
 * What `submit` is pointed at: `s3://bucket/prefix` (the prefix as given, as `aws s3 ls` takes it),
 * or a folder of the pipeline's bucket — `uploads/cats/`, or `cats/` for the same folder below the
 * uploads prefix. An `s3://` source may be anywhere in the pipeline's bucket but its results and
 * jobs folders, or in a bucket the stack was deployed to read (`-c sourceBuckets`); anything else is
 * refused with what to do, before any request.
 */
export function parseJobSource(
  argument: string,
  target: Pick<Target, 'bucket' | 'layout' | 'sourceBuckets'>,
): JobSource {
  const { bucket: pipelineBucket, layout } = target;
  let source: JobSource;
  const url = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(argument);
  if (url) source = { bucket: url[1]!, prefix: url[2]! };
  else if (argument.startsWith('s3:')) throw new CliError(`"${argument}" is not an S3 URL: write s3://bucket/prefix/`);
  else {
    const folder = argument === '.' || argument === '' ? '' : normalizeFolderPrefix(argument);
    source = {
      bucket: pipelineBucket,
      prefix: folder.startsWith(layout.uploadsPrefix) ? folder : `${layout.uploadsPrefix}${folder}`,
    };
  }
  if (source.bucket !== pipelineBucket && !target.sourceBuckets.includes(source.bucket))
    throw new CliError(
      `the workers may not read s3://${source.bucket}/: deploy the stack with \`npx cdk deploy -c sourceBuckets=${[...target.sourceBuckets, source.bucket].join(',')}\` (it grants the task role s3:GetObject on ${source.bucket}/*, and nothing else changes on the bucket; add -c sourceBucketKeys=<KMS key ARN> if its objects are encrypted with a KMS key), then submit again`,
      { code: 'SOURCE_NOT_READABLE' },
    );
  if (source.bucket === pipelineBucket) refuseOwnFolders(source, layout);
  return source;
}

/**
 * The results, the jobs' manifests and the reserved upload folders hold no image to label. (A
 * shorter prefix that includes them, such as the whole bucket, is fine: the worker skips them.)
 */
function refuseOwnFolders(source: JobSource, layout: Target['layout']): void {
  const where = describeSource(source);
  for (const [folder, what] of [
    [layout.resultsPrefix, 'results'],
    [JOBS_FOLDER, "jobs' manifests"],
  ] as const) {
    if (source.prefix.startsWith(folder))
      throw new CliError(`${where} is in the pipeline's ${what} folder (${folder}): submit a folder of images`, {
        code: 'SOURCE_NOT_SUPPORTED',
      });
  }
  if (isReservedUploadKey(source.prefix, layout))
    throw new CliError(`${where} is in a reserved folder of the uploads prefix: no image there is labelled`, {
      code: 'SOURCE_NOT_SUPPORTED',
    });
}

export function describeSource(source: JobSource): string {
  return `s3://${source.bucket}/${source.prefix}`;
}
