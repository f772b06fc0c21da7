import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { hasImageExtension } from '../../model/image-formats.js';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import type { JobSource } from '../../pipeline/jobs/job-store.js';
import { normalizeEtag } from '../../pipeline/result-document.js';
import { listedKey } from '../../pipeline/s3-event.js';

/** One page of a listing: the images on it, and how many objects it held in all. */
export interface ListedPage {
  readonly images: ListedImage[];
  readonly objects: number;
  /** More pages follow. */
  readonly truncated: boolean;
}

/**
 * The images below a prefix, a page (up to 1,000 keys) at a time, in S3's key order: objects with an
 * image file name (what the worker would classify), keys byte for byte (listed URL-encoded). Only
 * one page is in memory at once.
 */
export async function* listImagePages(
  s3: S3Client,
  source: JobSource,
  signal?: AbortSignal,
): AsyncGenerator<ListedPage> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: source.bucket,
        Prefix: source.prefix,
        ContinuationToken: token,
        EncodingType: 'url',
      }),
      { abortSignal: signal },
    );
    const images: ListedImage[] = [];
    for (const object of page.Contents ?? []) {
      const key = object.Key ? listedKey(object.Key, page.EncodingType) : '';
      if (!key || !hasImageExtension(key)) continue;
      images.push({
        bucket: source.bucket,
        key,
        etag: normalizeEtag(object.ETag),
        size: object.Size ?? 0,
        lastModified: (object.LastModified ?? new Date(0)).toISOString(),
      });
    }
    yield { images, objects: page.KeyCount ?? page.Contents?.length ?? 0, truncated: page.IsTruncated === true };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
