import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ImageError } from './errors.js';
import { checkFileSize } from './image-limits.js';

/**
 * Reads a local image file within the byte limit. The file is opened once and its size checked on
 * the open handle, so an oversized file is refused unread; then at most `maxBytes + 1` bytes are
 * read from that handle, so a file larger than its size said — one appended to since, or one that
 * reports 0 bytes as `/proc` files do — is refused too, never read whole. Errors are
 * {@link ImageError}s: `FILE_NOT_FOUND`, `FILE_TOO_LARGE`, `READ_FAILED` (not a regular file — a
 * FIFO is refused without blocking —, permissions, I/O).
 */
export async function readImageFile(file: string, maxBytes: number): Promise<Uint8Array> {
  let handle;
  try {
    // Non-blocking, so that a FIFO named like an image is opened (and refused below) instead of
    // waiting for a writer forever; for a regular file the flag changes nothing.
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw readError(file, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new ImageError('READ_FAILED', `${file} is not a regular file`, { context: { file } });
    checkFileSize(info.size, maxBytes, { file });
    // One byte past the limit is enough to know a file is over it.
    const readLimit = maxBytes + 1;
    let buffer = Buffer.allocUnsafe(info.size + 1);
    let length = 0;
    while (length < readLimit) {
      if (length === buffer.length) {
        const larger = Buffer.allocUnsafe(Math.min(buffer.length * 2, readLimit));
        buffer.copy(larger, 0, 0, length);
        buffer = larger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    // More than the size it stated at opening: refused on what was read, which stops at the limit.
    checkFileSize(length, maxBytes, { file });
    return buffer.subarray(0, length);
  } catch (error) {
    throw error instanceof ImageError ? error : readError(file, error);
  } finally {
    await handle.close();
  }
}

function readError(file: string, error: unknown): ImageError {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT')
    return new ImageError('FILE_NOT_FOUND', `${file} does not exist`, { cause: error });
  return new ImageError('READ_FAILED', `${file} cannot be read: ${(error as Error).message}`, { cause: error });
}
