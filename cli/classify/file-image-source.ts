import { readFile, stat } from 'node:fs/promises';
import { checkFileSize, ImageError, type ImageSource, type PreprocessOptions } from '../../model/index.js';

/** A local file as an image source; a missing or oversized file becomes an {@link ImageError}. */
export function fileImageSource(file: string, limits: PreprocessOptions = {}): ImageSource {
  return {
    name: file,
    async read() {
      try {
        const info = await stat(file);
        if (!info.isFile()) throw new ImageError('READ_FAILED', `${file} is not a regular file`);
        if (limits.maxBytes !== undefined) checkFileSize(info.size, limits.maxBytes, { file });
        return await readFile(file);
      } catch (error) {
        if (error instanceof ImageError) throw error;
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new ImageError('FILE_NOT_FOUND', `${file} does not exist`, { cause: error });
        throw new ImageError('READ_FAILED', `${file} cannot be read: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
