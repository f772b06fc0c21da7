import Table from 'cli-table3';
import type { Job } from '../../pipeline/jobs/job-store.js';
import { visibleText } from '../support/terminal-text.js';
import { describeSource } from './job-source.js';

/** Images per second since the job was created, over the images with an outcome. */
export function imagesPerSecond(job: Job, now = Date.now()): number | undefined {
  const end = job.finishedAt ? Date.parse(job.finishedAt) : job.lastCountedAt ? Date.parse(job.lastCountedAt) : now;
  const seconds = (end - Date.parse(job.createdAt)) / 1000;
  return job.done > 0 && seconds > 0 ? job.done / seconds : undefined;
}

/** What `jobs status --format json` prints: the job's counters and times, and the derived figures. */
export function jobStatusDocument(job: Job, deadLetterMessages?: number) {
  const rate = imagesPerSecond(job);
  return {
    id: job.id,
    source: describeSource(job.source),
    state: job.state,
    total: job.total ?? null,
    listed: job.listed,
    bytes: job.bytes,
    enqueued: job.enqueued,
    stored: job.stored,
    errors: job.errors,
    skipped: job.skipped,
    alreadyStored: job.alreadyStored,
    remaining: job.total === undefined ? null : Math.max(0, job.total - job.done),
    deadLettered: job.deadLettered,
    ...(deadLetterMessages === undefined ? {} : { deadLetterQueueMessages: deadLetterMessages }),
    createdAt: job.createdAt,
    listedAt: job.listedAt ?? null,
    enqueuedAt: job.enqueuedAt ?? null,
    finishedAt: job.finishedAt ?? null,
    imagesPerSecond: rate === undefined ? null : Number(rate.toFixed(2)),
    completionEvent: job.completionEvent ?? null,
    manifest: job.manifestKey,
  };
}

export function jobStatusTable(job: Job, deadLetterMessages?: number): string {
  const document = jobStatusDocument(job, deadLetterMessages);
  const table = new Table({ style: { head: [], border: [], compact: true } });
  const rows: Array<[string, string]> = [
    ['job', document.id],
    ['source', visibleText(document.source)],
    ['state', document.state],
    ['images', document.total === null ? `${document.listed} listed so far` : String(document.total)],
    ['enqueued', String(document.enqueued)],
    ['stored', String(document.stored)],
    ['errors', String(document.errors)],
    ['skipped', String(document.skipped)],
    [
      'already stored',
      `${document.alreadyStored} (of stored and errors: same ETag and fingerprint, not computed again)`,
    ],
    ['remaining', document.remaining === null ? 'not known until listing ends' : String(document.remaining)],
    [
      'in the DLQ',
      `${document.deadLettered} (of remaining: images whose last receive began without a result${document.deadLettered > 0 ? '; `redrive` sends them back' : ''})`,
    ],
  ];
  if (deadLetterMessages !== undefined)
    rows.push(['dead-letter queue', `${deadLetterMessages} message(s), all jobs (\`redrive\` sends them back)`]);
  rows.push(['created', document.createdAt]);
  if (document.finishedAt) rows.push(['finished', document.finishedAt]);
  if (document.imagesPerSecond !== null) rows.push(['images/s', document.imagesPerSecond.toFixed(1)]);
  for (const [name, value] of rows) table.push({ [name]: value });
  return table.toString();
}

export function jobListTable(jobs: readonly Job[]): string {
  const table = new Table({
    head: ['job', 'source', 'state', 'images', 'stored', 'errors', 'created'],
    style: { head: [], border: [], compact: true },
  });
  for (const job of jobs)
    table.push([
      job.id,
      visibleText(describeSource(job.source)),
      job.state,
      String(job.total ?? job.listed),
      String(job.stored),
      String(job.errors),
      job.createdAt,
    ]);
  return table.toString();
}
