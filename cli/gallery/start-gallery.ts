import type { Logger } from '../../common/logger.js';
import { DEFAULT_PREPROCESS_OPTIONS } from '../../model/preprocess.js';
import { CliError } from '../support/cli-error.js';
import { GalleryServer } from './gallery-server.js';
import { isRelativeFolder } from './upload-rules.js';
import { normalizeFolderPrefix } from '../support/option-parsers.js';
import { type Target } from '../target/target.js';

/** Starts a gallery of `target` on loopback; a busy port or a bad folder stops with a message naming the option. */
export async function startGallery(
  target: Target,
  options: {
    port: number;
    portOption?: string;
    folder?: string;
    maxBytes?: number;
    maxPixels?: number;
    logger: Logger;
  },
): Promise<{ server: GalleryServer; root: string }> {
  const folder = normalizeFolderPrefix(options.folder);
  if (!isRelativeFolder(folder)) {
    throw new CliError(
      `--prefix ${JSON.stringify(options.folder)} is not a folder below the uploads prefix (no empty, "." or ".." parts)`,
    );
  }
  const root = target.layout.uploadsPrefix + folder;
  const limits = {
    maxBytes: options.maxBytes ?? DEFAULT_PREPROCESS_OPTIONS.maxBytes,
    maxPixels: options.maxPixels ?? DEFAULT_PREPROCESS_OPTIONS.maxPixels,
  };
  try {
    return {
      server: await GalleryServer.start({ target, root, port: options.port, logger: options.logger, limits }),
      root,
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new CliError(
        `port ${options.port} is in use: pick another with ${options.portOption ?? '--port'} (or 0 for a free one)`,
        { cause: error },
      );
    throw error;
  }
}
