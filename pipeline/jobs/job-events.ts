import { RESULT_EVENT } from '../result-events.js';
import type { Job } from './job-store.js';

/**
 * The event sent once when the last image of a job has its result: the contract with users' rules
 * (docs/events.md). The same source as the per-image events.
 */
export const JOB_COMPLETED_EVENT = {
  source: RESULT_EVENT.source,
  detailType: 'Job Completed',
} as const;

export interface JobCompletedDetail {
  readonly jobId: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly total: number;
  readonly stored: number;
  readonly errors: number;
  readonly skipped: number;
  /** Of stored and errors, the images whose result was already there (same ETag and fingerprint): not computed again. */
  readonly alreadyStored: number;
  readonly createdAt: string;
  readonly finishedAt: string;
  /** From the job's creation to its last result, seconds. */
  readonly durationSeconds: number;
}

export function jobCompletedDetail(job: Job): JobCompletedDetail {
  const finishedAt = job.finishedAt ?? job.lastCountedAt ?? job.createdAt;
  return {
    jobId: job.id,
    bucket: job.source.bucket,
    prefix: job.source.prefix,
    total: job.total ?? job.listed,
    stored: job.stored,
    errors: job.errors,
    skipped: job.skipped,
    alreadyStored: job.alreadyStored,
    createdAt: job.createdAt,
    finishedAt,
    durationSeconds: Math.max(0, (Date.parse(finishedAt) - Date.parse(job.createdAt)) / 1000),
  };
}
