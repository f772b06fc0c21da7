import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { setTimeout as sleep } from 'node:timers/promises';
import DataLoader from 'dataloader';
import { PipelineError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { TransientAwsError } from '../../pipeline/errors.js';
import { JobNotFoundError } from '../../pipeline/jobs/job-errors.js';
import { JOB_COMPLETED_EVENT, jobCompletedDetail } from '../../pipeline/jobs/job-events.js';
import { COMPLETION_CLAIM_MS, type CountedOutcome, type Job, type JobStore } from '../../pipeline/jobs/job-store.js';
import { MAX_IMAGES_PER_COUNT } from '../../pipeline/jobs/job-table.js';

/** The image of a job a record names. */
export interface JobImage {
  readonly jobId: string;
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
}

/** How long a count waits for others to share its transaction. */
export const COUNT_GATHER_MS = 250;
/** How often a record waiting on another worker's completion claim looks whether the event was sent. */
export const CLAIM_POLL_MS = 1_000;
/** The longest a record waits on another worker's claim: until it lapses, and a margin. */
export const CLAIM_WAIT_MS = COMPLETION_CLAIM_MS + 5_000;

interface PendingCount {
  readonly image: JobImage;
  readonly outcome: CountedOutcome;
  readonly alreadyStored: boolean;
}

/** The completion event is claimed by another worker and not sent within {@link CLAIM_WAIT_MS}: the record goes back. */
export class CompletionPendingError extends PipelineError {
  constructor(jobId: string) {
    super('JOB_COMPLETION_PENDING', `the completion event of ${jobId} is being sent by another worker`, {
      context: { jobId },
      retryable: true,
    });
  }
}

/**
 * Counts the images of `submit` jobs as their records end, and sends a job's one completion event:
 * the worker whose count makes `done` reach `total` claims the event (one conditional write; see
 * `JobStore.claimCompletion`), sends it to EventBridge, and marks it sent. A record that completes
 * its job is not done until the event is sent: while another worker holds the claim it waits, and
 * if the claimant dies the claim lapses and the waiting record sends it — at least once, and
 * exactly once unless a worker is stopped between PutEvents and the write that follows it.
 */
export class JobProgress {
  private warnedNoTable = false;
  /** Completion attempts under way in this worker, by job. */
  private readonly completing = new Map<string, Promise<void>>();
  private readonly counts: DataLoader<PendingCount, void>;

  constructor(
    private readonly dependencies: {
      /**
       * The job table, opened on the first record of a job: the DynamoDB client and its SDK load
       * only in a worker that sees jobs (every worker start would pay ~150 ms for them otherwise).
       */
      readonly store?: () => Promise<JobStore>;
      readonly events?: EventBridgeClient;
      readonly busName?: string;
      readonly logger: Logger;
      /** The clock claims are timed by. Default: the system's. */
      readonly now?: () => Date;
      /** How long a count waits for others to share its transaction. Default: {@link COUNT_GATHER_MS}. */
      readonly gatherMs?: number;
      /** Waits between looks at another worker's claim. Default: a timer. */
      readonly sleep?: (ms: number) => Promise<void>;
    },
  ) {
    const gatherMs = dependencies.gatherMs ?? COUNT_GATHER_MS;
    this.counts = new DataLoader((pending) => this.countGathered(pending), {
      cache: false,
      maxBatchSize: MAX_IMAGES_PER_COUNT,
      batchScheduleFn: (callback) => setTimeout(callback, gatherMs),
    });
  }

  private now(): Date {
    return this.dependencies.now?.() ?? new Date();
  }

  private pause(ms: number): Promise<void> {
    return this.dependencies.sleep?.(ms) ?? sleep(ms);
  }

  /**
   * Counts an ended record in its job. Counts made within {@link COUNT_GATHER_MS} of each other
   * share one transaction per job, so a job's counter item takes a few writes a second per worker
   * rather than one per image (DynamoDB cancels concurrent transactions on one item). Resolves
   * once the image is counted and, if it completed its job, the completion event is sent.
   */
  async count(image: JobImage, outcome: CountedOutcome, alreadyStored = false): Promise<void> {
    const { store, logger } = this.dependencies;
    if (!store) {
      if (!this.warnedNoTable)
        logger.warn(
          { jobId: image.jobId },
          'records of a job arrive but JOBS_TABLE is not set: they are classified, not counted',
        );
      this.warnedNoTable = true;
      return;
    }
    this.store ??= store();
    await this.counts.load({ image, outcome, alreadyStored });
  }

  private store: Promise<JobStore> | undefined;

  /**
   * The last receive of an image's message has begun: the image counts in its job's
   * `deadLettered` until it is counted (one transaction, only on a last receive). Never blocks or
   * stops the record: a failure is logged, and only the job's DLQ figure misses the image.
   */
  async markLastTry(image: JobImage): Promise<void> {
    const { store, logger } = this.dependencies;
    if (!store) return;
    try {
      this.store ??= store();
      const marked = await (await this.store).markLastTry(image.jobId, image, this.now());
      if (marked)
        logger.info(
          { jobId: image.jobId, key: image.key },
          'last receive of a job image: counted in the DLQ until it has a result',
        );
    } catch (error) {
      logger.warn(
        { jobId: image.jobId, key: image.key, err: error },
        'could not mark the last try of a job image (jobs status will not show it in the DLQ)',
      );
    }
  }

  /**
   * Records what this worker computes results with, for `submit --stale` (one PutItem). Never
   * blocks or stops the worker: a failure is logged, and `submit --stale --fingerprint` still works.
   */
  async recordFingerprint(fingerprint: string, modelSha256: string): Promise<void> {
    const { store, logger } = this.dependencies;
    if (!store) return;
    try {
      this.store ??= store();
      await (
        await this.store
      ).recordWorkerFingerprint({ fingerprint, modelSha256, startedAt: this.now().toISOString() });
    } catch (error) {
      logger.warn({ err: error }, 'could not record the fingerprint of this worker (submit --stale reads it)');
    }
  }

  /** One gathered batch: a transaction per job, then each job's completion check. */
  private async countGathered(pending: readonly PendingCount[]): Promise<Array<void | Error>> {
    const store = await this.store!;
    const byJob = new Map<string, number[]>();
    for (const [index, { image }] of pending.entries())
      byJob.set(image.jobId, [...(byJob.get(image.jobId) ?? []), index]);
    const answers: Array<void | Error> = pending.map(() => undefined);
    await Promise.all(
      [...byJob].map(async ([jobId, indexes]) => {
        try {
          await store.countImages(
            jobId,
            indexes.map((index) => pending[index]!),
            this.now(),
          );
        } catch (error) {
          if (error instanceof JobNotFoundError) {
            this.dependencies.logger.warn(
              { jobId, records: indexes.length },
              'records of a job the table does not hold: not counted',
            );
            return;
          }
          const failure = new TransientAwsError('TransactWriteItems', { jobId, table: store.tableName }, error);
          for (const index of indexes) answers[index] = failure;
          return;
        }
        try {
          await this.completeIfDone(jobId, store);
        } catch (error) {
          for (const index of indexes) answers[index] = error as Error;
        }
      }),
    );
    return answers;
  }

  private async completeIfDone(jobId: string, store: JobStore): Promise<void> {
    let job: Job | undefined;
    try {
      job = await store.get(jobId);
    } catch (error) {
      throw new TransientAwsError('GetItem', { jobId, table: store.tableName }, error);
    }
    if (!job || job.total === undefined || job.done < job.total || job.completionEvent === 'sent') return;
    // The last records of a job often end together in this worker (a message's ten): they share
    // one attempt rather than contend for the claim and send each other's messages back.
    const under = this.completing.get(jobId);
    if (under) return under;
    const attempt = this.claimAndSend(jobId, store).finally(() => this.completing.delete(jobId));
    this.completing.set(jobId, attempt);
    return attempt;
  }

  /**
   * Claims the job's completion event and sends it. While another worker holds the claim, the
   * record waits here — its message kept by the lease's heartbeat — until that worker has sent the
   * event or its claim lapses (it died) and this one takes it over. Going back to the queue instead
   * would spend the message's receives (`maxReceiveCount`, a few seconds apart) long before a claim
   * lapses: the job's last messages ended in the DLQ and nobody was left to send its event.
   */
  private async claimAndSend(jobId: string, store: JobStore): Promise<void> {
    const giveUpAt = this.now().getTime() + CLAIM_WAIT_MS;
    let waiting = false;
    for (;;) {
      const job = await this.claim(jobId, store);
      if (job) return this.send(job, store);
      let current: Job | undefined;
      try {
        current = await store.get(jobId);
      } catch (error) {
        throw new TransientAwsError('GetItem', { jobId, table: store.tableName }, error);
      }
      if (!current || current.completionEvent === 'sent') return;
      if (this.now().getTime() >= giveUpAt) throw new CompletionPendingError(jobId);
      if (!waiting)
        this.dependencies.logger.info(
          { jobId },
          'the completion event is claimed by another worker: waiting until it is sent or the claim lapses',
        );
      waiting = true;
      await this.pause(CLAIM_POLL_MS);
    }
  }

  private async claim(jobId: string, store: JobStore): Promise<Job | undefined> {
    try {
      return await store.claimCompletion(jobId, this.now());
    } catch (error) {
      throw new TransientAwsError('UpdateItem', { jobId, table: store.tableName }, error);
    }
  }

  private async send(job: Job, store: JobStore): Promise<void> {
    const jobId = job.id;
    try {
      await this.publish(job);
    } catch (error) {
      await store.releaseClaim(jobId).catch(() => undefined);
      throw error;
    }
    await store.completionSent(job).catch((error: unknown) => {
      throw new TransientAwsError('UpdateItem', { jobId, table: store.tableName }, error);
    });
  }

  private async publish(job: Job): Promise<void> {
    const { events, busName, logger } = this.dependencies;
    const detail = jobCompletedDetail(job);
    if (events && busName) {
      let refused: string | undefined;
      try {
        const answer = await events.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: busName,
                Source: JOB_COMPLETED_EVENT.source,
                DetailType: JOB_COMPLETED_EVENT.detailType,
                Detail: JSON.stringify(detail),
              },
            ],
          }),
        );
        const entry = answer.Entries?.[0];
        if (!entry?.EventId || entry.ErrorCode)
          refused = `${entry?.ErrorCode ?? 'no answer'}: ${entry?.ErrorMessage ?? ''}`;
      } catch (error) {
        throw new TransientAwsError('PutEvents', { jobId: job.id, busName }, error);
      }
      if (refused)
        throw new TransientAwsError(
          'PutEvents',
          { jobId: job.id, busName },
          new PipelineError('EVENT_REFUSED', refused, { retryable: true }),
        );
    }
    logger.info({ ...detail, event: events && busName ? busName : 'none (no EVENT_BUS_NAME)' }, 'job completed');
  }
}
