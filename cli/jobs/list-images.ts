import type { S3Client } from '@aws-sdk/client-s3';
import { hasImageExtension } from '../../model/image-formats.js';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import type { JobSource } from '../../pipeline/jobs/job-store.js';
import { listObjectPages, type ListedObject } from '../../pipeline/s3-operations.js';
import { listKeyRanges } from './key-ranges.js';
import { mergeLimited } from './merge-pages.js';

/** One page of a listing: the images on it, and how many objects it held in all. */
export interface ListedPage {
  readonly images: ListedImage[];
  readonly objects: number;
  /** More pages follow. */
  readonly truncated: boolean;
}

/** Folders of a prefix listed side by side (see {@link listImagePages}). */
export const PARALLEL_LISTINGS = 8;

/**
 * The images below a prefix, a page (up to 1,000 keys) at a time: objects with an image file name
 * (what the worker would classify). One listing of S3 is sequential (each page names the next), so
 * a prefix with folders is listed a folder at a time, up to `parallel` folders side by side: one
 * delimited listing finds the folders (and the objects directly below the prefix), each folder is
 * listed whole on its own. A prefix with fewer than two folders on that listing's first page (flat
 * keys, however many) is split by key ranges instead (`listKeyRanges`), and so is each of a few big
 * folders (`parallel` shared among them). Pages come in
 * the order they arrive, not in key order (the manifest keeps that order); at most `parallel` pages
 * are in memory.
 */
export async function* listImagePages(
  s3: S3Client,
  source: JobSource,
  parallel = PARALLEL_LISTINGS,
  /** Keys per LIST page (S3's most, 1,000; tests: more pages of fewer keys). */
  pageSize = 1000,
): AsyncGenerator<ListedPage> {
  const folderPages = listObjectPages(s3, source.bucket, source.prefix, '/', pageSize);
  const first = await folderPages.next();
  // Fewer than two folders on the first page (a flat prefix, whatever its size): key ranges instead.
  if (parallel < 2 || first.done || first.value.folders.length < 2) {
    await folderPages.return(undefined);
    yield* listed(s3, source.bucket, source.prefix, parallel, pageSize);
    return;
  }
  // The folders share the listings: a few big folders are each split by key ranges too.
  const perFolder = Math.max(1, Math.floor(parallel / Math.max(1, first.value.folders.length)));
  async function* sources(): AsyncGenerator<() => AsyncIterator<ListedPage>> {
    for (let page = first; !page.done; page = await folderPages.next()) {
      const { objects, folders } = page.value;
      if (objects.length > 0) yield () => onePage(imagesOf(source.bucket, objects, true));
      for (const folder of folders) yield () => listed(s3, source.bucket, folder, perFolder, pageSize);
    }
  }
  // More pages may follow any page: an empty prefix is found out at the end of the listing.
  for await (const page of mergeLimited(sources(), parallel)) yield { ...page, truncated: true };
}

async function* onePage(page: ListedPage): AsyncGenerator<ListedPage> {
  yield page;
}

/** One prefix listed whole: in one sequence, or split by key ranges up to `parallel` side by side. */
async function* listed(
  s3: S3Client,
  bucket: string,
  prefix: string,
  parallel: number,
  pageSize: number,
): AsyncGenerator<ListedPage> {
  const pages =
    parallel < 2
      ? listObjectPages(s3, bucket, prefix, undefined, pageSize)
      : listKeyRanges(s3, bucket, prefix, parallel, pageSize);
  for await (const page of pages) yield imagesOf(bucket, page.objects, page.truncated);
}

function imagesOf(bucket: string, objects: readonly ListedObject[], truncated: boolean): ListedPage {
  return {
    images: objects
      .filter((object) => hasImageExtension(object.key))
      .map((object) => ({
        bucket,
        key: object.key,
        etag: object.etag,
        size: object.size,
        lastModified: (object.lastModified ?? new Date(0)).toISOString(),
      })),
    objects: objects.length,
    truncated,
  };
}
