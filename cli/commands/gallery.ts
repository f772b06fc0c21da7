import { once } from 'node:events';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { DEFAULT_PREPROCESS_OPTIONS } from '../../model/preprocess.js';
import { CliError, EXIT } from '../cli-error.js';
import { GalleryServer } from '../gallery/gallery-server.js';
import { isRelativeFolder } from '../gallery/upload-rules.js';
import { integerInRange, normalizeFolderPrefix } from '../option-parsers.js';
import { addTargetOptions, resolveTarget, type Target, type TargetOptions } from '../target.js';
import { visibleText } from '../terminal-text.js';

interface GalleryOptions extends TargetOptions {
  port: number;
  prefix?: string;
  maxBytes: number;
}

/** `gallery`: a web page on 127.0.0.1 with the images, their labels and live updates, for any target. */
export function galleryCommand(logger: Logger): Command {
  const command = new Command('gallery')
    .description('serve a web gallery of the images and their labels on 127.0.0.1 (live updates, uploads); prints its URL with a one-time token')
    .addOption(new Option('--port <port>', 'loopback port (0 picks a free one)').argParser(integerInRange(0, 65535)).default(0))
    .addOption(new Option('--prefix <folder>', 'show only this folder below the uploads prefix, e.g. "cats/"'))
    .addOption(new Option('--max-bytes <n>', 'largest upload accepted, bytes (the pipeline refuses larger images)').argParser(integerInRange(1, 2 ** 31)).default(DEFAULT_PREPROCESS_OPTIONS.maxBytes));
  addTargetOptions(command).action(async (options: GalleryOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const gallery = await startGallery(target, { port: options.port, folder: options.prefix, maxBytes: options.maxBytes, logger });
    process.stdout.write(`Gallery of ${visibleText(target.description)}, images below ${visibleText(target.bucket)}/${visibleText(gallery.root)}. Ctrl-C stops it.\nGallery: ${gallery.server.url}\n`);
    const signal = await Promise.race([once(process, 'SIGINT').then(() => 'SIGINT'), once(process, 'SIGTERM').then(() => 'SIGTERM')]);
    logger.info({ signal }, 'stopping the gallery');
    await gallery.server.close();
    target.s3.destroy();
    target.sqs.destroy();
    process.exitCode = EXIT.ok;
  });
  return command;
}

/** Starts a gallery of `target` on loopback; a busy port or a bad folder stops with a message naming the option. */
export async function startGallery(target: Target, options: { port: number; portOption?: string; folder?: string; maxBytes?: number; maxPixels?: number; logger: Logger }): Promise<{ server: GalleryServer; root: string }> {
  const folder = normalizeFolderPrefix(options.folder);
  if (!isRelativeFolder(folder)) {
    throw new CliError(`--prefix ${JSON.stringify(options.folder)} is not a folder below the uploads prefix (no empty, "." or ".." parts)`);
  }
  const root = target.layout.uploadsPrefix + folder;
  const limits = { maxBytes: options.maxBytes ?? DEFAULT_PREPROCESS_OPTIONS.maxBytes, maxPixels: options.maxPixels ?? DEFAULT_PREPROCESS_OPTIONS.maxPixels };
  try {
    return { server: await GalleryServer.start({ target, root, port: options.port, logger: options.logger, limits }), root };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliError(`port ${options.port} is in use: pick another with ${options.portOption ?? '--port'} (or 0 for a free one)`, { cause: error });
    throw error;
  }
}
