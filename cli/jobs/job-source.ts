import type { JobSource } from '../../pipeline/jobs/job-store.js';
import type { KeyLayout } from '../../pipeline/object-keys.js';
import { CliError } from '../support/cli-error.js';
import { normalizeFolderPrefix } from '../support/option-parsers.js';

/**
 * What `submit` is pointed at: `s3://bucket/prefix` (the prefix as given, as `aws s3 ls` takes it),
 * or a folder of the pipeline's bucket — `uploads/cats/`, or `cats/` for the same folder below the
 * uploads prefix. Images of this version must be below the pipeline bucket's uploads prefix, where
 * results have their mirrored keys; anything else is refused with what to do.
 */
export function parseJobSource(argument: string, pipelineBucket: string, layout: KeyLayout): JobSource {
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
  if (source.bucket !== pipelineBucket)
    throw new CliError(
      `s3://${source.bucket}/ is not the pipeline's bucket (${pipelineBucket}): this version labels images in the pipeline's bucket only; copy them below s3://${pipelineBucket}/${layout.uploadsPrefix}`,
      { code: 'SOURCE_NOT_SUPPORTED' },
    );
  if (!source.prefix.startsWith(layout.uploadsPrefix))
    throw new CliError(
      `s3://${source.bucket}/${source.prefix} is not below the uploads prefix (${layout.uploadsPrefix}), where results have their keys: submit a folder below s3://${source.bucket}/${layout.uploadsPrefix}`,
      { code: 'SOURCE_NOT_SUPPORTED' },
    );
  return source;
}

export function describeSource(source: JobSource): string {
  return `s3://${source.bucket}/${source.prefix}`;
}
