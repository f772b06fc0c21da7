import { createInterface } from 'node:readline';
import { PassThrough, type Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import { CliError } from '../support/cli-error.js';

/**
 * A job's manifest: one JSON line per image (bucket, key, ETag, size, last modified), gzip-compressed,
 * streamed into the pipeline bucket as it is listed (a multipart upload of 8 MiB parts) and read back
 * the same way: never wholly in memory. Its order is the order images are enqueued in, so a job's
 * `enqueued` count says which of them are on the queue.
 */
export async function writeManifest(
  s3: S3Client,
  bucket: string,
  key: string,
  pages: AsyncIterable<readonly ListedImage[]>,
): Promise<{ total: number; bytes: number }> {
  const gzip = createGzip();
  const body = new PassThrough();
  gzip.pipe(body);
  const upload = new Upload({
    client: s3,
    partSize: 8 * 1024 * 1024,
    queueSize: 2,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/x-ndjson', ContentEncoding: 'gzip' },
  });
  const uploaded = upload.done();
  // An upload that fails early must not leave the listing writing into a pipe nobody reads.
  uploaded.catch(() => gzip.destroy());
  let total = 0;
  let bytes = 0;
  try {
    for await (const images of pages) {
      let text = '';
      for (const image of images) {
        text += `${JSON.stringify(image)}\n`;
        total++;
        bytes += image.size;
      }
      if (text && !gzip.write(text)) await new Promise((resolve) => gzip.once('drain', resolve));
    }
    gzip.end();
  } catch (error) {
    gzip.destroy();
    await upload.abort().catch(() => undefined);
    throw error;
  }
  await uploaded;
  return { total, bytes };
}

/** The images of a manifest, in order, streamed from S3. */
export async function* readManifest(s3: S3Client, bucket: string, key: string): AsyncGenerator<ListedImage> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const lines = createInterface({ input: (object.Body as Readable).pipe(createGunzip()), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (!text) continue;
    let image: ListedImage;
    try {
      image = JSON.parse(text) as ListedImage;
    } catch (error) {
      throw new CliError(`the manifest s3://${bucket}/${key} is damaged at line ${line}`, { cause: error });
    }
    yield image;
  }
}
