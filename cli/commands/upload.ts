import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { CliError } from '../support/cli-error.js';
import { warnSkipped } from '../classify/image-files.js';
import { visibleText } from '../support/terminal-text.js';
import { integerInRange, normalizeFolderPrefix } from '../support/option-parsers.js';
import { addTargetOptions, resolveTarget, type TargetOptions } from '../target/target.js';
import { uploadAll, planUploads } from '../upload/uploads.js';

interface UploadOptions extends TargetOptions {
  prefix?: string;
  concurrency: number;
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
    const { uploads, skipped } = await planUploads(
      paths,
      target.layout.uploadsPrefix + normalizeFolderPrefix(options.prefix),
    );
    warnSkipped(logger, skipped);
    if (uploads.length === 0) throw new CliError('nothing to upload: no image files among the given paths');
    const keys = await uploadAll(target, uploads, options.concurrency);
    for (const key of keys) process.stdout.write(`uploaded s3://${target.bucket}/${visibleText(key)}\n`);
    logger.info({ uploaded: keys.length, skipped: skipped.length, target: target.description }, 'upload finished');
  });
  return command;
}
