import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { describeError } from '../../common/errors.js';
import { checkFileSize } from '../../model/image-limits.js';
import { readImageHeader } from '../../model/preprocess.js';
import { isNotFoundError } from '../../pipeline/errors.js';
import { normalizeEtag } from '../../pipeline/result-document.js';

/** The longest side of a thumbnail, in pixels: a card shows it at about half that, sharp on a HiDPI screen. */
export const THUMBNAIL_SIZE = 320;

/** A thumbnail, or why an image has none (not an image, too large, gone). */
export type Thumbnail =
  | { readonly webp: Buffer; readonly etag: string }
  | { readonly problem: { readonly code: string; readonly message: string } };

export interface ThumbnailOptions {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Images larger than this are not downloaded (the pipeline's limit). */
  readonly maxBytes: number;
  readonly maxPixels: number;
  /** Memory the cache of thumbnails may hold. */
  readonly cacheBytes?: number;
  /** Images downloaded and resized at once. */
  readonly concurrency?: number;
}

/**
 * Thumbnails of uploaded images: downloaded with the server's credentials, resized with sharp to
 * {@link THUMBNAIL_SIZE} px WebP (upright, as EXIF says), and kept in a size-bounded LRU cache under
 * key and ETag — a replaced image gets a new thumbnail, a 12-MP photo never reaches the browser.
 * The same image asked for by many cards at once is made once.
 */
export class Thumbnails {
  private readonly cache: LRUCache<string, Thumbnail>;
  private readonly inFlight = new Map<string, Promise<Thumbnail | undefined>>();
  private readonly limit: ReturnType<typeof pLimit>;
  /** Thumbnails made (not served from the cache): for the tests. */
  made = 0;

  constructor(private readonly options: ThumbnailOptions) {
    this.cache = new LRUCache<string, Thumbnail>({
      maxSize: options.cacheBytes ?? 64 * 1024 * 1024,
      sizeCalculation: (thumbnail) => ('webp' in thumbnail ? thumbnail.webp.length : 256),
    });
    this.limit = pLimit(options.concurrency ?? 4);
  }

  /** The thumbnail of `key` as it is now (`etag`, when given, names the version the page shows). */
  async get(key: string, etag?: string): Promise<Thumbnail | undefined> {
    const cacheKey = `${key}\u0000${etag ?? ''}`;
    const cached = etag ? this.cache.get(cacheKey) : undefined;
    if (cached) return cached;
    let making = this.inFlight.get(cacheKey);
    if (!making) {
      making = this.limit(() => this.make(key)).finally(() => this.inFlight.delete(cacheKey));
      this.inFlight.set(cacheKey, making);
    }
    const thumbnail = await making;
    if (thumbnail && (!etag || ('etag' in thumbnail ? thumbnail.etag === etag : true)))
      this.cache.set(cacheKey, thumbnail);
    return thumbnail;
  }

  private async make(key: string): Promise<Thumbnail | undefined> {
    let bytes: Uint8Array;
    let etag: string;
    try {
      const object = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      etag = normalizeEtag(object.ETag);
      try {
        checkFileSize(object.ContentLength ?? 0, this.options.maxBytes, { key });
      } catch (error) {
        object.Body?.transformToWebStream()
          .cancel()
          .catch(() => undefined);
        return { problem: describeError(error) };
      }
      bytes = await object.Body!.transformToByteArray();
    } catch (error) {
      if (isNotFoundError(error)) return undefined;
      throw error;
    }
    this.made += 1;
    try {
      await readImageHeader(bytes, this.options.maxPixels);
      const webp = await sharp(bytes, { limitInputPixels: this.options.maxPixels })
        .rotate()
        .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 72 })
        .toBuffer();
      return { webp, etag };
    } catch (error) {
      const problem = describeError(error);
      return {
        problem:
          problem.code === 'INTERNAL_ERROR'
            ? { code: 'CORRUPT_IMAGE', message: `the image cannot be decoded: ${problem.message}` }
            : problem,
      };
    }
  }
}
