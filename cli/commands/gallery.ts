import { once } from 'node:events';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { DEFAULT_PREPROCESS_OPTIONS } from '../../model/preprocess.js';
import { EXIT } from '../support/cli-error.js';
import { integerInRange } from '../support/option-parsers.js';
import { addTargetOptions, resolveTarget, type TargetOptions } from '../target/target.js';
import { visibleText } from '../support/terminal-text.js';
import { startGallery } from '../gallery/start-gallery.js';

interface GalleryOptions extends TargetOptions {
  port: number;
  prefix?: string;
  maxBytes: number;
}

/** `gallery`: a web page on 127.0.0.1 with the images, their labels and live updates, for any target. */
export function galleryCommand(logger: Logger): Command {
  const command = new Command('gallery')
    .description(
      'serve a web gallery of the images and their labels on 127.0.0.1 (live updates, uploads); prints its URL with a one-time token',
    )
    .addOption(
      new Option('--port <port>', 'loopback port (0 picks a free one)').argParser(integerInRange(0, 65535)).default(0),
    )
    .addOption(
      new Option(
        '--prefix <folder>',
        'show only this folder below the uploads prefix, e.g. "cats/"; or, read-only, s3://bucket/folder/ of the pipeline bucket or a source bucket (-c sourceBuckets)',
      ),
    )
    .addOption(
      new Option('--max-bytes <n>', 'largest upload accepted, bytes (the pipeline refuses larger images)')
        .argParser(integerInRange(1, 2 ** 31))
        .default(DEFAULT_PREPROCESS_OPTIONS.maxBytes),
    );
  addTargetOptions(command).action(async (options: GalleryOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const gallery = await startGallery(target, {
      port: options.port,
      folder: options.prefix,
      maxBytes: options.maxBytes,
      logger,
    });
    process.stdout.write(
      `Gallery of ${visibleText(target.description)}, images below ${visibleText(gallery.imagesBucket)}/${visibleText(gallery.root)}${gallery.server.readOnly ? ' (read-only: uploads go below the uploads prefix)' : ''}. Ctrl-C stops it.\nGallery: ${gallery.server.url}\n`,
    );
    const signal = await Promise.race([
      once(process, 'SIGINT').then(() => 'SIGINT'),
      once(process, 'SIGTERM').then(() => 'SIGTERM'),
    ]);
    logger.info({ signal }, 'stopping the gallery');
    await gallery.server.close();
    target.s3.destroy();
    target.sqs.destroy();
    process.exitCode = EXIT.ok;
  });
  return command;
}
