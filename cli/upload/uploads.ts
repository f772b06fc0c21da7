import { createReadStream } from 'node:fs';
import { Upload } from '@aws-sdk/lib-storage';
import mime from 'mime-types';
import pLimit from 'p-limit';
import { explainAwsError } from '../target/aws-errors.js';
import { collectImageFiles, type SkippedFile } from '../classify/image-files.js';
import { createProgress } from '../support/progress-bar.js';
import { type Target } from '../target/target.js';

/** A local file and the key it is uploaded to. */
export interface PlannedUpload {
  readonly file: string;
  readonly key: string;
}

/** What {@link uploadAll} may add to every upload, and hear of each. */
export interface UploadExtras {
  /** User metadata on every object (`upload --job`: the job id). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Called as each upload completes, with the object's ETag (unquoted). */
  readonly onUploaded?: (planned: PlannedUpload, etag: string) => void;
}

/** Uploads with bounded concurrency and a progress bar; multipart above 8 MiB. Returns the keys. */
export async function uploadAll(
  target: Target,
  uploads: readonly PlannedUpload[],
  concurrency = 8,
  extras: UploadExtras = {},
): Promise<string[]> {
  const limit = pLimit(concurrency);
  const progress = createProgress(uploads.length, 'upload');
  try {
    await Promise.all(
      uploads.map((planned) =>
        limit(async () => {
          const upload = new Upload({
            client: target.s3,
            partSize: 8 * 1024 * 1024,
            queueSize: 4,
            params: {
              Bucket: target.bucket,
              Key: planned.key,
              Body: createReadStream(planned.file),
              ContentType: mime.lookup(planned.file) || 'application/octet-stream',
              ...(extras.metadata ? { Metadata: { ...extras.metadata } } : {}),
            },
          });
          const done = await upload.done();
          extras.onUploaded?.(planned, (done.ETag ?? '').replaceAll('"', ''));
          progress.increment();
        }),
      ),
    );
  } catch (error) {
    throw explainAwsError(error, { bucket: target.bucket, endpoint: target.endpoint, profile: target.profile });
  } finally {
    progress.stop();
  }
  return uploads.map((planned) => planned.key);
}

/** Maps files and folders to keys (see `collectImageFiles` for the rule); a missing path is an error. */
export async function planUploads(
  paths: readonly string[],
  keyPrefix: string,
): Promise<{ uploads: PlannedUpload[]; skipped: SkippedFile[] }> {
  const { files, skipped } = await collectImageFiles(paths);
  return { uploads: files.map(({ file, relative }) => ({ file, key: keyPrefix + relative })), skipped };
}
