import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { describeImageExtensions } from '../../model/image-formats.js';
import { costPerMillion, jobRequestCost, MEASURED_WORKER_CPU_MS } from '../../pipeline/cost-model.js';
import { JobNotFoundError } from '../../pipeline/jobs/job-errors.js';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import type { Job, JobSource, JobStore } from '../../pipeline/jobs/job-store.js';
import { manifestKeyFor, newJobId } from '../../pipeline/jobs/job-table.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { visibleText } from '../support/terminal-text.js';
import type { Target } from '../target/target.js';
import { enqueueImages } from './enqueue-images.js';
import { checkedJobId, explainJobsError, jobStoreFor } from './job-store-target.js';
import { describeSource, parseJobSource } from './job-source.js';
import { listImagePages } from './list-images.js';
import { readManifest, writeManifest } from './manifest.js';
import { createStatusLine } from './status-line.js';
import { staleImages, staleReference } from './stale-images.js';
import { inventoryImagePages, readInventoryManifest, type InventoryManifest } from './inventory.js';

/** Exit status of a `submit` stopped by Ctrl-C (128 + SIGINT), after it said how far it got. */
export const EXIT_INTERRUPTED = 130;

/** What a run sent, for its last line (and the benchmark's requests per 1,000 images). */
interface RequestTally {
  lists: number;
  stateWrites: number;
}

const STATE_WRITES = new Set([
  'create',
  'listedSoFar',
  'listingFinished',
  'enqueuedSoFar',
  'enqueueFinished',
  'discard',
]);

/** The job store, its writes counted. */
function countingWrites(store: JobStore, counts: RequestTally): JobStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || !STATE_WRITES.has(String(property))) return value;
      return (...args: unknown[]) => {
        counts.stateWrites++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** Counts the target's ListObjectsV2 requests. */
function countListRequests(target: Target, counts: RequestTally): void {
  target.s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ListObjectsV2Command') counts.lists++;
      return next(args);
    },
    { step: 'initialize', name: 'countListRequests' },
  );
}

/** How often progress is written to the job while listing and enqueueing. */
const PROGRESS_WRITE_MS = 2000;

/** True at most once every {@link PROGRESS_WRITE_MS}: when the job's progress should be written. */
function progressWriteDue(): () => boolean {
  let written = Date.now();
  return () => {
    if (Date.now() - written <= PROGRESS_WRITE_MS) return false;
    written = Date.now();
    return true;
  };
}

export interface SubmitOptions {
  readonly dryRun?: boolean;
  readonly wait?: boolean;
  readonly resume?: string;
  /** `--wait` gives up after this long (exit 3). Default: no limit. */
  readonly timeoutSeconds?: number;
  /** Instances the estimate of `--dry-run` assumes (the stack's `maxInstances`). */
  readonly instances: number;
  /** `--stale`: only images without a current result. */
  readonly stale?: boolean;
  /** `--fingerprint`: what `--stale` compares with, instead of the workers' recorded one. */
  readonly fingerprint?: string;
  /** `--inventory`: an S3 Inventory manifest read instead of listing. */
  readonly inventory?: string;
  readonly logger: Logger;
}

/**
 * `submit`: a job over the images below a prefix — listed into a manifest, enqueued for the
 * workers in messages of ten records, counted by the workers in the jobs table — or, with
 * `--dry-run`, only what it would cost. Returns the exit status.
 */
export async function runSubmit(argument: string | undefined, target: Target, options: SubmitOptions): Promise<number> {
  const { store: uncounted, close } = jobStoreFor(target);
  const tally: RequestTally = { lists: 0, stateWrites: 0 };
  const store = countingWrites(uncounted, tally);
  countListRequests(target, tally);
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    if (options.dryRun) {
      const { source, inventory } = await jobSourceOf(argument, target, options);
      const fingerprint = options.stale ? await staleReference(store, options.fingerprint) : undefined;
      return await estimate(source, target, options, fingerprint, inventory);
    }
    const job = options.resume
      ? await resumedJob(store, checkedJobId(options.resume), argument)
      : await createJob(store, target, argument, options);
    process.stdout.write(`job ${job.id}\n`);
    return await runJob(job, store, target, options, controller.signal, tally);
  } catch (error) {
    throw explainJobsError(error, target);
  } finally {
    process.removeListener('SIGINT', interrupt);
    close();
  }
}

async function createJob(
  store: JobStore,
  target: Target,
  argument: string | undefined,
  options: SubmitOptions,
): Promise<Job> {
  const { source, inventory } = await jobSourceOf(argument, target, options);
  if (options.fingerprint && !options.stale)
    throw new CliError('--fingerprint is what --stale compares with: add --stale');
  if (!inventory) await refuseEmptySource(target, source);
  const staleAgainst = options.stale ? await staleReference(store, options.fingerprint) : undefined;
  const id = newJobId();
  await store.create({
    id,
    source,
    manifestKey: manifestKeyFor(id),
    createdAt: new Date(),
    ...(staleAgainst ? { staleAgainst } : {}),
    ...(inventory ? { inventory: inventory.url } : {}),
  });
  return (await store.get(id))!;
}

/**
 * The first page of the listing, before a job is made: a prefix with nothing below it, or only
 * non-images on a single page, is refused without a job. (A longer listing with no image is found
 * out at its end: the job is then discarded.)
 */
async function refuseEmptySource(target: Target, source: JobSource): Promise<void> {
  const pages = listImagePages(target.s3, source);
  const first = await pages.next();
  const page = first.done ? { images: [], objects: 0, truncated: false } : first.value;
  await pages.return(undefined);
  if (page.images.length === 0 && !page.truncated) throw noImages(source, page.objects);
}

function noImages(source: JobSource, objects: number): CliError {
  const where = visibleText(describeSource(source));
  return new CliError(
    objects === 0
      ? `nothing below ${where}: no job made, nothing enqueued (\`status\` shows what is in the bucket)`
      : `no images below ${where}: ${objects} object(s), none ending in ${describeImageExtensions()}; no job made, nothing enqueued`,
    { code: 'NO_IMAGES' },
  );
}

async function resumedJob(store: JobStore, jobId: string, argument: string | undefined): Promise<Job> {
  const job = await store.get(jobId);
  if (!job) throw new JobNotFoundError(jobId);
  if (argument && argument !== describeSource(job.source))
    throw new CliError(
      `${jobId} is a job over ${describeSource(job.source)}, not ${argument}: resume it without a prefix`,
    );
  return job;
}

/**
 * What a new job (or `--dry-run`) is over: the prefix argument, or with `--inventory` the
 * inventory's source bucket (the argument, if given, must be in it and narrows it to a prefix).
 */
async function jobSourceOf(
  argument: string | undefined,
  target: Target,
  options: SubmitOptions,
): Promise<{ source: JobSource; inventory?: InventoryManifest }> {
  if (!options.inventory) {
    if (!argument)
      throw new CliError(
        'submit needs a prefix (s3://bucket/prefix/ or a folder of the pipeline bucket), or --resume <job id>',
      );
    return { source: parseJobSource(argument, target) };
  }
  const inventory = await readInventoryManifest(target.s3, options.inventory);
  const source = parseJobSource(argument ?? `s3://${inventory.sourceBucket}/`, target);
  if (source.bucket !== inventory.sourceBucket)
    throw new CliError(
      `${options.inventory} is an inventory of s3://${inventory.sourceBucket}/, not of s3://${source.bucket}/`,
      { code: 'BAD_INVENTORY' },
    );
  return { source, inventory };
}

/** A job's images a page at a time: from its inventory, or by listing its prefix. */
function imagePagesOf(target: Target, source: JobSource, inventory: InventoryManifest | undefined) {
  return inventory ? inventoryImagePages(target.s3, inventory, source.prefix) : listImagePages(target.s3, source);
}

/** Lists (unless a resumed job has its manifest), enqueues what is not on the queue yet, and waits if asked. */
async function runJob(
  job: Job,
  store: JobStore,
  target: Target,
  options: SubmitOptions,
  signal: AbortSignal,
  tally: RequestTally,
): Promise<number> {
  const line = createStatusLine();
  const where = visibleText(describeSource(job.source));
  try {
    let total = job.total;
    if (job.state === 'listing') {
      const listed = await listIntoManifest(job, store, target, signal, (count) =>
        line.update(`listing ${where}: ${count} images`),
      );
      line.done();
      if (signal.aborted) {
        process.stderr.write(
          `interrupted while listing: job ${job.id} has its source but no manifest yet; \`submit --resume ${job.id}\` lists again\n`,
        );
        return EXIT_INTERRUPTED;
      }
      if (listed.total === 0 && listed.current > 0) {
        await store.discard(job);
        process.stdout.write(
          `all ${listed.current} images below ${where} have a current result: nothing enqueued, job ${job.id} discarded\n`,
        );
        return EXIT.ok;
      }
      if (listed.total === 0) {
        await store.discard(job);
        throw noImages(job.source, listed.objects);
      }
      total = listed.total;
      await store.listingFinished(job.id, listed.total, listed.bytes);
      process.stderr.write(
        `listed ${listed.total} images (${formatBytes(listed.bytes)}) below ${where}${job.staleAgainst ? ` whose result is missing or stale (${listed.current} current, not enqueued)` : ''}\n`,
      );
    }
    if (job.state === 'listing' || job.state === 'enqueueing') {
      const outcome = await enqueueRest(job, store, target, signal, (count) =>
        line.update(`enqueueing: ${count} of ${total} images`),
      );
      line.done();
      if (outcome.interrupted) {
        process.stderr.write(
          `interrupted: ${outcome.enqueued} of ${total} images of job ${job.id} are on the queue (none twice); \`submit --resume ${job.id}\` sends the rest\n`,
        );
        return EXIT_INTERRUPTED;
      }
      await store.enqueueFinished(job.id);
      process.stdout.write(
        `enqueued ${total} images of job ${job.id} (requests: ${tally.lists} LIST, ${outcome.requests} SendMessageBatch, ${tally.stateWrites} job-state writes)\n`,
      );
    } else {
      process.stdout.write(`job ${job.id} has all ${total} images on the queue already (${job.state})\n`);
    }
    return options.wait ? await waitForJob(job.id, store, options, signal, line) : EXIT.ok;
  } finally {
    line.done();
  }
}

/** The listing, written to the manifest as it goes; the job's `listed` count follows every 2 s. */
async function listIntoManifest(
  job: Job,
  store: JobStore,
  target: Target,
  signal: AbortSignal,
  show: (listed: number) => void,
): Promise<{ total: number; bytes: number; objects: number; current: number }> {
  let listed = 0;
  let bytes = 0;
  let objects = 0;
  let current = 0;
  const due = progressWriteDue();
  async function* pages(): AsyncGenerator<readonly ListedImage[]> {
    const inventory = job.inventory ? await readInventoryManifest(target.s3, job.inventory) : undefined;
    for await (const page of imagePagesOf(target, job.source, inventory)) {
      if (signal.aborted) return;
      const images = job.staleAgainst ? await staleImages(target, page.images, job.staleAgainst) : page.images;
      current += page.images.length - images.length;
      listed += images.length;
      objects += page.objects;
      for (const image of images) bytes += image.size;
      show(listed);
      if (due()) await store.listedSoFar(job.id, listed, bytes);
      yield images;
    }
  }
  const manifest = await writeManifest(target.s3, target.bucket, job.manifestKey, pages());
  return { ...manifest, objects, current };
}

async function enqueueRest(
  job: Job,
  store: JobStore,
  target: Target,
  signal: AbortSignal,
  show: (enqueued: number) => void,
): Promise<{ enqueued: number; requests: number; interrupted: boolean }> {
  const due = progressWriteDue();
  let last = job.enqueued;
  try {
    const outcome = await enqueueImages({
      sqs: target.sqs,
      queueUrl: target.queueUrl!,
      jobId: job.id,
      region: (await target.s3.config.region()) ?? 'us-east-1',
      images: readManifest(target.s3, target.bucket, job.manifestKey),
      skip: job.enqueued,
      signal,
      onProgress: async (enqueued) => {
        last = enqueued;
        show(enqueued);
        if (due()) await store.enqueuedSoFar(job.id, enqueued);
      },
    });
    await store.enqueuedSoFar(job.id, outcome.enqueued);
    return outcome;
  } catch (error) {
    // What reached the queue in order is recorded, so a resume sends the rest and nothing twice.
    await store.enqueuedSoFar(job.id, last).catch(() => undefined);
    throw error;
  }
}

/** Follows the job (one GetItem a second) until every image has an outcome. */
export async function waitForJob(
  jobId: string,
  store: JobStore,
  options: Pick<SubmitOptions, 'timeoutSeconds'>,
  signal: AbortSignal,
  line: ReturnType<typeof createStatusLine>,
): Promise<number> {
  const started = Date.now();
  let saidDeadLettered = false;
  for (;;) {
    const job = await store.get(jobId);
    if (!job) throw new JobNotFoundError(jobId);
    const total = job.total ?? job.listed;
    if (job.total !== undefined && job.done >= job.total) {
      line.done();
      const seconds = (
        (Date.parse(job.finishedAt ?? job.lastCountedAt ?? job.createdAt) - Date.parse(job.createdAt)) /
        1000
      ).toFixed(1);
      process.stdout.write(
        `job ${job.id} completed: ${job.stored} stored, ${job.errors} error results, ${job.skipped} skipped of ${total} images in ${seconds} s${job.alreadyStored > 0 ? ` (${job.alreadyStored} already stored by the same model and settings, not computed again)` : ''}\n`,
      );
      return job.errors > 0 ? EXIT.someFailed : EXIT.ok;
    }
    const elapsed = (Date.now() - started) / 1000;
    const rate = job.done / Math.max(1, (Date.now() - Date.parse(job.createdAt)) / 1000);
    const eta = rate > 0 ? `${Math.ceil((total - job.done) / rate)} s left` : 'ETA unknown';
    const deadLettered = job.deadLettered > 0 ? `, ${job.deadLettered} in the DLQ` : '';
    line.update(
      `job ${job.id}: ${job.stored} stored, ${job.errors} errors${deadLettered}, ${total - job.done} to go (${rate.toFixed(1)} images/s, ${eta})`,
      true,
    );
    if (!saidDeadLettered && job.state === 'enqueued' && job.deadLettered > 0 && job.done + job.deadLettered >= total) {
      saidDeadLettered = true;
      line.done();
      process.stderr.write(
        `job ${job.id}: the ${job.deadLettered} image(s) left are in the dead-letter queue (or on their last try); \`redrive\` sends them back, and this wait goes on\n`,
      );
    }
    if (options.timeoutSeconds !== undefined && elapsed >= options.timeoutSeconds) {
      line.done();
      process.stderr.write(
        `job ${job.id} is not done after ${options.timeoutSeconds} s: ${job.done} of ${total} images have an outcome; \`jobs status ${job.id}\` follows it\n`,
      );
      return EXIT.notReady;
    }
    if (signal.aborted) {
      line.done();
      process.stderr.write(`stopped waiting; job ${job.id} goes on: \`jobs status ${job.id}\` follows it\n`);
      return EXIT_INTERRUPTED;
    }
    await sleep(1000, undefined, { signal }).catch(() => undefined);
  }
}

/** `--dry-run`: the images, their bytes, and what the job would take and cost; nothing is written. */
async function estimate(
  source: JobSource,
  target: Target,
  options: SubmitOptions,
  staleAgainst: string | undefined,
  inventory: InventoryManifest | undefined,
): Promise<number> {
  let images = 0;
  let bytes = 0;
  let objects = 0;
  let current = 0;
  const line = createStatusLine();
  for await (const page of imagePagesOf(target, source, inventory)) {
    const counted = staleAgainst ? await staleImages(target, page.images, staleAgainst) : page.images;
    current += page.images.length - counted.length;
    images += counted.length;
    objects += page.objects;
    for (const image of counted) bytes += image.size;
    line.update(`listing: ${images} images`);
  }
  line.done();
  const where = visibleText(describeSource(source));
  if (images === 0) {
    process.stdout.write(
      current > 0
        ? `${where}: all ${current} images have a current result: a --stale job would enqueue nothing\n`
        : `${where}: ${objects} object(s), no images: a job would enqueue nothing\n`,
    );
    return EXIT.ok;
  }
  // A photo-sized average decodes at the 12-MP figure, small images at the small-image one.
  const photos = bytes / images > 1024 * 1024;
  const cost = costPerMillion(photos ? MEASURED_WORKER_CPU_MS.photo12Mp : MEASURED_WORKER_CPU_MS.smallImage);
  const seconds = images / (cost.imagesPerSecond * options.instances);
  const requests = jobRequestCost(images);
  const perImage = (cost.onDemand + cost.requests) / 1e6;
  process.stdout.write(
    [
      `${where}: ${images} images${staleAgainst ? ` whose result is missing or stale (${current} current)` : ''}, ${formatBytes(bytes)} (${objects} objects listed)`,
      `estimate at ${options.instances} instance(s), ${photos ? '12-MP photos' : 'small images'} (${cost.imagesPerSecond.toFixed(0)} images/s each, from \`npm run bench\`): ${formatDuration(seconds)} of processing once the instances are up`,
      `cost: compute and per-image requests $${(perImage * images).toFixed(2)} on demand, plus the job's listing, messages and state $${requests.total.toFixed(4)} (list prices in pipeline/cost-model.ts)`,
      'nothing enqueued (--dry-run)',
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.ceil(seconds)} s`;
  if (seconds < 7200) return `${Math.ceil(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
