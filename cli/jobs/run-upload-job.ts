import { stat } from 'node:fs/promises';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import { JOB_ID_METADATA } from '../../pipeline/jobs/job-messages.js';
import type { JobStore } from '../../pipeline/jobs/job-store.js';
import { manifestKeyFor, newJobId } from '../../pipeline/jobs/job-table.js';
import { CliError, EXIT } from '../support/cli-error.js';
import type { Target } from '../target/target.js';
import { uploadAll, type PlannedUpload } from '../upload/uploads.js';
import { explainJobsError, jobStoreFor } from './job-store-target.js';
import { writeManifest } from './manifest.js';
import { formatBytes, waitForJob } from './run-submit.js';
import { createStatusLine } from './status-line.js';

export interface UploadJobOptions {
  readonly concurrency: number;
  readonly wait?: boolean;
  readonly timeoutSeconds?: number;
}

/**
 * `upload --job`: the files as one job. The job is made first, with its total (the files to send)
 * and the folder's guard; every object carries the job id in its metadata, so the worker counts it
 * when its notification arrives, exactly as it counts a `submit` record; the manifest is written
 * once every upload has its ETag. If an upload fails, the job is discarded (it could never
 * complete) and the images already sent are labelled all the same, without a job. Returns the exit status.
 */
export async function runUploadJob(
  target: Target,
  uploads: readonly PlannedUpload[],
  folder: string,
  options: UploadJobOptions,
): Promise<number> {
  const { store, close } = jobStoreFor(target);
  const controller = new AbortController();
  // Ctrl-C while uploading lets the uploads finish (a job missing some would never complete), then
  // does not wait; Ctrl-C while waiting stops waiting (the job goes on).
  const interrupt = () => {
    if (!controller.signal.aborted)
      process.stderr.write('finishing the uploads under way, so that the job can complete; then not waiting\n');
    controller.abort();
  };
  process.once('SIGINT', interrupt);
  try {
    const sizes = new Map(
      await Promise.all(uploads.map(async (planned) => [planned, (await stat(planned.file)).size] as const)),
    );
    const bytes = [...sizes.values()].reduce((sum, size) => sum + size, 0);
    const id = newJobId();
    const source = { bucket: target.bucket, prefix: folder };
    await store.create({ id, source, manifestKey: manifestKeyFor(id), createdAt: new Date() });
    // The total is known before the first object exists: no count can arrive before it.
    await store.listingFinished(id, uploads.length, bytes);
    process.stdout.write(`job ${id}\n`);
    const uploaded: ListedImage[] = [];
    try {
      await uploadAll(target, uploads, options.concurrency, {
        metadata: { [JOB_ID_METADATA]: id },
        onUploaded: (planned, etag) =>
          uploaded.push({
            bucket: target.bucket,
            key: planned.key,
            etag,
            size: sizes.get(planned)!,
            lastModified: new Date().toISOString(),
          }),
      });
    } catch (error) {
      await discard(store, id);
      const reason = error instanceof Error ? error.message : String(error);
      throw new CliError(
        `${uploaded.length} of ${uploads.length} images uploaded, then: ${reason} — job ${id} is discarded (it could not complete); the uploaded images are labelled without a job: upload the folder again with --job`,
        { cause: error, code: 'UPLOAD_JOB_FAILED' },
      );
    }
    await writeManifest(target.s3, target.bucket, manifestKeyFor(id), pagesOf(uploaded));
    await store.enqueuedSoFar(id, uploaded.length);
    await store.enqueueFinished(id);
    process.stdout.write(
      `uploaded ${uploaded.length} images (${formatBytes(bytes)}) as job ${id}: \`jobs status ${id}\` follows it\n`,
    );
    if (!options.wait || controller.signal.aborted) return EXIT.ok;
    const line = createStatusLine();
    try {
      return await waitForJob(id, store, options, controller.signal, line);
    } finally {
      line.done();
    }
  } catch (error) {
    throw explainJobsError(error, target);
  } finally {
    process.removeListener('SIGINT', interrupt);
    close();
  }
}

async function* pagesOf(images: readonly ListedImage[]): AsyncGenerator<readonly ListedImage[]> {
  for (let start = 0; start < images.length; start += 1000) yield images.slice(start, start + 1000);
}

async function discard(store: JobStore, id: string): Promise<void> {
  const job = await store.get(id).catch(() => undefined);
  if (job) await store.discard(job).catch(() => undefined);
}
