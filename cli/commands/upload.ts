import { createReadStream } from 'node:fs';
import { Upload } from '@aws-sdk/lib-storage';
import { Command, Option } from 'commander';
import mime from 'mime-types';
import pLimit from 'p-limit';
import type { Logger } from '../../common/logger.js';
import { explainAwsError } from '../aws-errors.js';
import { CliError } from '../cli-error.js';
import { collectImageFiles, warnSkipped, type SkippedFile } from '../image-files.js';
import { visibleText } from '../terminal-text.js';
import { integerInRange, normalizeFolderPrefix } from '../option-parsers.js';
import { createProgress } from '../progress-bar.js';
import { addTargetOptions, resolveTarget, type Target, type TargetOptions } from '../target.js';

interface UploadOptions extends TargetOptions {
  prefix?: string;
  concurrency: number;
}

/** A local file and the key it is uploaded to. */
export interface PlannedUpload {
  readonly file: string;
  readonly key: string;
}

/** `upload <files or folders...>`: images to `uploads/<prefix>…`, concurrently, multipart when large. */
export function uploadCommand(logger: Logger): Command {
  const command = new Command('upload')
    .description('upload images to the pipeline (folders keep their layout below the uploads prefix)')
    .argument('<paths...>', 'image files or folders')
    .addOption(new Option('--prefix <prefix>', 'folder below the uploads prefix, e.g. "cats/"'))
    .addOption(new Option('--concurrency <n>', 'uploads at once').argParser(integerInRange(1, 64)).default(8));
  addTargetOptions(command).action(async (paths: string[], options: UploadOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const { uploads, skipped } = await planUploads(paths, target.layout.uploadsPrefix + normalizeFolderPrefix(options.prefix));
    warnSkipped(logger, skipped);
    if (uploads.length === 0) throw new CliError('nothing to upload: no image files among the given paths');
    const keys = await uploadAll(target, uploads, options.concurrency);
    for (const key of keys) process.stdout.write(`uploaded s3://${target.bucket}/${visibleText(key)}\n`);
    logger.info({ uploaded: keys.length, skipped: skipped.length, target: target.description }, 'upload finished');
  });
  return command;
}

/** Uploads with bounded concurrency and a progress bar; multipart above 8 MiB. Returns the keys. */
export async function uploadAll(target: Target, uploads: readonly PlannedUpload[], concurrency = 8): Promise<string[]> {
  const limit = pLimit(concurrency);
  const progress = createProgress(uploads.length, 'upload');
  try {
    await Promise.all(
      uploads.map((planned) =>
        limit(async () => {
          const upload = new Upload({
            client: target.s3,
            partSize: 8 * 1024 * 1024,
            queueSize: 4,
            params: {
              Bucket: target.bucket,
              Key: planned.key,
              Body: createReadStream(planned.file),
              ContentType: mime.lookup(planned.file) || 'application/octet-stream',
            },
          });
          await upload.done();
          progress.increment();
        }),
      ),
    );
  } catch (error) {
    throw explainAwsError(error, { bucket: target.bucket, endpoint: target.endpoint, profile: target.profile });
  } finally {
    progress.stop();
  }
  return uploads.map((planned) => planned.key);
}

/** Maps files and folders to keys (see `collectImageFiles` for the rule); a missing path is an error. */
export async function planUploads(paths: readonly string[], keyPrefix: string): Promise<{ uploads: PlannedUpload[]; skipped: SkippedFile[] }> {
  const { files, skipped } = await collectImageFiles(paths);
  return { uploads: files.map(({ file, relative }) => ({ file, key: keyPrefix + relative })), skipped };
}
