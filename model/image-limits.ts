import { ImageError } from './errors.js';

/**
 * The byte-size limit of an image, checked wherever its size is first known — a local file's
 * `stat`, an S3 object's Content-Length, the bytes in memory — so that an oversized image is
 * refused before it is read, with the same code and message everywhere.
 */
export function checkFileSize(bytes: number, maxBytes: number, context: Record<string, unknown> = {}): void {
  if (bytes > maxBytes) {
    throw new ImageError('FILE_TOO_LARGE', `the file has ${bytes} bytes, more than the limit of ${maxBytes}`, {
      context: { ...context, bytes, maxBytes },
    });
  }
}
