import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { CliError } from '../support/cli-error.js';
import { warnSkipped } from '../classify/image-files.js';
import { visibleText } from '../support/terminal-text.js';
import { integerInRange, normalizeFolderPrefix } from '../support/option-parsers.js';
import { addTargetOptions, jobsTableOption, resolveTarget, type TargetOptions } from '../target/target.js';
import { uploadAll, planUploads } from '../upload/uploads.js';

interface UploadOptions extends TargetOptions {
  prefix?: string;
  concurrency: number;
  job?: boolean;
  wait?: boolean;
  timeout?: number;
}

/** `upload <files or folders...>`: images to `uploads/<prefix>…`, concurrently, multipart when large. */
export function uploadCommand(logger: Logger): Command {
  const command = new Command('upload')
    .description('upload images to the pipeline (folders keep their layout below the uploads prefix)')
    .argument('<paths...>', 'image files or folders')
    .addOption(new Option('--prefix <prefix>', 'folder below the uploads prefix, e.g. "cats/"'))
    .addOption(new Option('--concurrency <n>', 'uploads at once').argParser(integerInRange(1, 64)).default(8))
    .addOption(
      new Option(
        '--job',
        'make the upload one job: its progress in `jobs status`, one Job Completed event (needs the jobs table)',
      ),
    )
    .addOption(new Option('--wait', 'with --job: follow the job until every image has its result'))
    .addOption(jobsTableOption())
    .addOption(
      new Option('--timeout <seconds>', 'with --job --wait: give up waiting after this long (exit 3)').argParser(
        integerInRange(1, 7 * 86_400),
      ),
    );
  addTargetOptions(command).action(async (paths: string[], options: UploadOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const { uploads, skipped } = await planUploads(
      paths,
      target.layout.uploadsPrefix + normalizeFolderPrefix(options.prefix),
    );
    warnSkipped(logger, skipped);
    if (uploads.length === 0) throw new CliError('nothing to upload: no image files among the given paths');
    if ((options.wait || options.timeout !== undefined) && !options.job)
      throw new CliError('--wait and --timeout follow a job: add --job');
    if (options.job) {
      const folder = target.layout.uploadsPrefix + normalizeFolderPrefix(options.prefix);
      const { runUploadJob } = await import('../jobs/run-upload-job.js');
      process.exitCode = await runUploadJob(target, uploads, folder, {
        concurrency: options.concurrency,
        wait: options.wait,
        timeoutSeconds: options.timeout,
      });
      return;
    }
    const keys = await uploadAll(target, uploads, options.concurrency);
    for (const key of keys) process.stdout.write(`uploaded s3://${target.bucket}/${visibleText(key)}\n`);
    logger.info({ uploaded: keys.length, skipped: skipped.length, target: target.description }, 'upload finished');
  });
  return command;
}
