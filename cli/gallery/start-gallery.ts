import type { Logger } from '../../common/logger.js';
import { DEFAULT_PREPROCESS_OPTIONS } from '../../model/preprocess.js';
import { CliError } from '../support/cli-error.js';
import { GalleryServer } from './gallery-server.js';
import { isRelativeFolder } from './upload-rules.js';
import { normalizeFolderPrefix } from '../support/option-parsers.js';
import type { ObjectLocation } from '../../pipeline/result-location.js';
import { imageFromArgument } from '../results/object-arguments.js';
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
): Promise<{ server: GalleryServer; root: string; imagesBucket: string }> {
  const { bucket: imagesBucket, key: root } = galleryFolder(target, options.folder);
  const limits = {
    maxBytes: options.maxBytes ?? DEFAULT_PREPROCESS_OPTIONS.maxBytes,
    maxPixels: options.maxPixels ?? DEFAULT_PREPROCESS_OPTIONS.maxPixels,
  };
  try {
    return {
      server: await GalleryServer.start({
        target,
        root,
        imagesBucket,
        port: options.port,
        logger: options.logger,
        limits,
      }),
      root,
      imagesBucket,
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

/**
 * The folder a gallery shows: a folder below the uploads prefix (`cats/`), or — shown read-only —
 * `s3://bucket/folder/` in the pipeline's bucket or one of its source buckets (`-c sourceBuckets`).
 */
function galleryFolder(target: Target, folder: string | undefined): ObjectLocation {
  if (folder?.startsWith('s3://')) {
    const location = imageFromArgument(folder, target);
    if (location.key !== '' && !location.key.endsWith('/'))
      throw new CliError(`--prefix ${JSON.stringify(folder)} is not a folder: end it with "/"`);
    if (location.key !== '' && !isRelativeFolder(location.key))
      throw new CliError(`--prefix ${JSON.stringify(folder)} is not a folder (no empty, "." or ".." parts)`);
    return location;
  }
  const relative = normalizeFolderPrefix(folder);
  if (!isRelativeFolder(relative)) {
    throw new CliError(
      `--prefix ${JSON.stringify(folder)} is not a folder below the uploads prefix (no empty, "." or ".." parts)`,
    );
  }
  return { bucket: target.bucket, key: target.layout.uploadsPrefix + relative };
}
