import type { S3Client } from '@aws-sdk/client-s3';
import { hasImageExtension } from '../../model/image-formats.js';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import type { JobSource } from '../../pipeline/jobs/job-store.js';
import { listObjectPages } from '../../pipeline/s3-operations.js';

/** One page of a listing: the images on it, and how many objects it held in all. */
export interface ListedPage {
  readonly images: ListedImage[];
  readonly objects: number;
  /** More pages follow. */
  readonly truncated: boolean;
}

/**
 * The images below a prefix, a page (up to 1,000 keys) at a time, in S3's key order: objects with an
 * image file name (what the worker would classify). Only one page is in memory at once.
 */
export async function* listImagePages(s3: S3Client, source: JobSource): AsyncGenerator<ListedPage> {
  for await (const page of listObjectPages(s3, source.bucket, source.prefix)) {
    yield {
      images: page.objects
        .filter((object) => hasImageExtension(object.key))
        .map((object) => ({
          bucket: source.bucket,
          key: object.key,
          etag: object.etag,
          size: object.size,
          lastModified: (object.lastModified ?? new Date(0)).toISOString(),
        })),
      objects: page.objects.length,
      truncated: page.truncated,
    };
  }
}
