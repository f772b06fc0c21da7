import { ImageError } from '../model/index.js';

/** A response body as the SDK gives it in Node.js: a readable stream of bytes. */
export type ResponseBody = AsyncIterable<Uint8Array> & { destroy?: () => void };

/**
 * Reads a response body, never more than `maxBytes` of it. The stated Content-Length is checked
 * before the body (see `ObjectStore.download`), but a response need not state one — a chunked
 * answer from an S3-compatible store, a proxy — so the count is kept while reading too: past the
 * limit the stream is destroyed (the connection closes, nothing more is received) and the object
 * is refused as `FILE_TOO_LARGE`, like one whose stated size is too large.
 */
export async function readBodyWithinLimit(
  body: ResponseBody,
  maxBytes: number,
  context: Record<string, unknown>,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  // Leaving a `for await` over a Node.js stream early destroys the stream: nothing more is read.
  for await (const chunk of body) {
    length += chunk.length;
    if (length > maxBytes)
      throw new ImageError('FILE_TOO_LARGE', `the object's body runs past the limit of ${maxBytes} bytes`, {
        context: { ...context, maxBytes, bytesReceived: length },
      });
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
}
