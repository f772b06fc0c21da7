import { createHash, randomBytes } from 'node:crypto';

/**
 * The jobs table, one home for its shape (the stack creates it, `local` provisions it, the job
 * store reads and writes it): a string partition key and sort key, on-demand, items expiring by
 * the `expiresAt` TTL attribute.
 *
 * Items:
 * - `JOB#<id>` / `JOB`: a job — its source, state, manifest, and the counters (`listed`,
 *   `enqueued`, `total`, `done` = `stored` + `errors` + `skipped`).
 * - `IMAGE#<SHA-256 of job, bucket, key, ETag>` / `COUNTED`: an image of a job that has been
 *   counted, written in one transaction with the counter it moved, so a redelivered message,
 *   a worker killed mid-way or a redriven message never counts an image twice. Each in its own
 *   partition, so a job's images spread over DynamoDB's partitions. Before it is counted, the
 *   same item may say `outcome: lastTry`: the last receive of its message began (it is counted
 *   in the job's `deadLettered` until the count replaces the marker, in one transaction).
 * - `JOBS` / `<created at>#<id>`: the list of jobs, newest first (`jobs list`).
 * - `PREFIX#<bucket>/<prefix>` / `ACTIVE`: the job running over a prefix, so the same prefix is not
 *   submitted twice while it runs; removed when the job completes.
 */
export const JOBS_TABLE = {
  partitionKey: 'pk',
  sortKey: 'sk',
  timeToLiveAttribute: 'expiresAt',
} as const;

/** Images per count: a transaction holds at most 100 items, one of them the job's counters. */
export const MAX_IMAGES_PER_COUNT = 99;

/** How long a job and its counted images are kept after the job's creation. */
export const JOB_RETENTION_DAYS = 90;

/** The `expiresAt` (TTL, seconds since the epoch) of an item written at `time`: {@link JOB_RETENTION_DAYS} later. */
export function expiresAtFor(time: Date): number {
  return Math.floor(time.getTime() / 1000) + JOB_RETENTION_DAYS * 86_400;
}

/** A job's id: `job-` + its creation time (UTC, to the second) + 8 random hex digits. Sorts by time. */
export const JOB_ID_PATTERN = /^job-\d{8}T\d{6}Z-[0-9a-f]{8}$/;

export function newJobId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `job-${stamp}-${randomBytes(4).toString('hex')}`;
}

export function isJobId(text: string): boolean {
  return JOB_ID_PATTERN.test(text);
}

export const jobKey = (jobId: string) => ({ pk: `JOB#${jobId}`, sk: 'JOB' });

export const jobListKey = (createdAt: string, jobId: string) => ({ pk: 'JOBS', sk: `${createdAt}#${jobId}` });

/** The fingerprint the workers last started with (see `JobStore.recordWorkerFingerprint`). */
export const workerFingerprintKey = { pk: 'WORKERS', sk: 'FINGERPRINT' } as const;

export const prefixGuardKey = (bucket: string, prefix: string) => ({ pk: `PREFIX#${bucket}/${prefix}`, sk: 'ACTIVE' });

/** One image version of one job: keys may be 1,024 bytes, a sort key no more, so it is hashed. */
export function countedImageKey(jobId: string, image: { bucket: string; key: string; etag: string }) {
  const hash = createHash('sha256')
    .update([jobId, image.bucket, image.key, image.etag].join('\u0000'), 'utf8')
    .digest('hex');
  return { pk: `IMAGE#${hash}`, sk: 'COUNTED' };
}

/** Where a job's manifest is kept in the pipeline bucket: beside uploads and results, never below them. */
export const JOBS_FOLDER = '_jobs/';

export function manifestKeyFor(jobId: string): string {
  return `${JOBS_FOLDER}${jobId}/manifest.jsonl.gz`;
}
