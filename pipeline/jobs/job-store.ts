import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { JobAlreadyRunningError, JobNotFoundError } from './job-errors.js';
import {
  countedImageKey,
  expiresAtFor,
  jobKey,
  jobListKey,
  MAX_IMAGES_PER_COUNT,
  prefixGuardKey,
  workerFingerprintKey,
} from './job-table.js';

/** What a worker computes results with (`WORKERS`/`FINGERPRINT` in the jobs table). */
export interface WorkerFingerprint {
  readonly fingerprint: string;
  readonly modelSha256: string;
  /** ISO 8601. */
  readonly startedAt: string;
}

/** Where a job's images come from. */
export interface JobSource {
  readonly bucket: string;
  /** A key prefix ("" for the whole bucket). */
  readonly prefix: string;
}

/**
 * - `listing`: its images are being listed into the manifest;
 * - `enqueueing`: listed (`total` known), messages being sent;
 * - `enqueued`: every image is on the queue; results are coming in;
 * - `completed`: every image has its result (or was skipped).
 */
export type JobState = 'listing' | 'enqueueing' | 'enqueued' | 'completed';

/** How a counted image ended. */
export type CountedOutcome = 'stored' | 'errors' | 'skipped';

/** A job as the table holds it. */
export interface Job {
  readonly id: string;
  readonly source: JobSource;
  /** `submit --stale`: only images without a current result of this fingerprint are in the job. */
  readonly staleAgainst?: string;
  /** `submit --inventory`: the S3 Inventory manifest the images are read from instead of a listing. */
  readonly inventory?: string;
  readonly state: JobState;
  readonly manifestKey: string;
  readonly createdAt: string;
  /** Images listed so far, and all of them once listing is done (`total`). */
  readonly listed: number;
  readonly total?: number;
  readonly bytes: number;
  /** Images on the queue, in manifest order: the first `enqueued` of the manifest are sent. */
  readonly enqueued: number;
  readonly stored: number;
  readonly errors: number;
  readonly skipped: number;
  /**
   * Of stored and errors, the images whose result was already there for the same ETag by the same
   * fingerprint (model and settings): counted, not computed again. After a model change, a job
   * over the same prefix computes only what is missing or stale; this says how much was current.
   */
  readonly alreadyStored: number;
  /** stored + errors + skipped: images with an outcome. */
  readonly done: number;
  /**
   * Images whose last receive began (the queue's `maxReceiveCount`) and that have no outcome yet:
   * in the dead-letter queue, or on their last try. Such an image leaves this count when it is
   * counted after all (its last try succeeded, or it was redriven and processed).
   */
  readonly deadLettered: number;
  readonly listedAt?: string;
  readonly enqueuedAt?: string;
  readonly firstCountedAt?: string;
  readonly lastCountedAt?: string;
  readonly finishedAt?: string;
  /** `sending` while the completion event is under way (claimed until `claimUntil`), then `sent`. */
  readonly completionEvent?: 'sending' | 'sent';
  readonly claimUntil?: number;
}

/** The outcome of an image's item while it is only marked as on its last try (see `JobStore.markLastTry`). */
export const LAST_TRY = 'lastTry';

/** Tries of one count while other writers of the job's item conflict with it. */
const MAX_COUNT_ATTEMPTS = 8;

/** An image version of a job. */
export interface CountedImage {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
}

/** Aliases of the job's attributes whose names DynamoDB reserves (`state`, `total`, `bytes`…). */
const COUNTER_NAMES = {
  '#state': 'state',
  '#total': 'total',
  '#listed': 'listed',
  '#bytes': 'bytes',
  '#enqueued': 'enqueued',
};

/** How long a worker holds the right to send a job's completion event before another may. */
export const COMPLETION_CLAIM_MS = 30_000;

/**
 * The job state in DynamoDB (see job-table.ts for the items): every change is one conditional or
 * atomic write, so counts stay exact whatever is delivered twice, and a job's state is read with
 * one GetItem, whatever its size.
 */
export class JobStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    dynamo: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  }

  /**
   * Creates a job in state `listing`, with its place in the list and the prefix's guard, in one
   * transaction. Throws {@link JobAlreadyRunningError} when the prefix has a job that has not completed.
   */
  async create(job: {
    id: string;
    source: JobSource;
    manifestKey: string;
    createdAt: Date;
    staleAgainst?: string;
    inventory?: string;
  }): Promise<void> {
    const createdAt = job.createdAt.toISOString();
    const expiresAt = expiresAtFor(job.createdAt);
    const guard = prefixGuardKey(job.source.bucket, job.source.prefix);
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...guard, jobId: job.id },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...jobKey(job.id),
                  id: job.id,
                  source: job.source,
                  staleAgainst: job.staleAgainst,
                  inventory: job.inventory,
                  state: 'listing',
                  manifestKey: job.manifestKey,
                  createdAt,
                  listed: 0,
                  bytes: 0,
                  enqueued: 0,
                  stored: 0,
                  errors: 0,
                  skipped: 0,
                  alreadyStored: 0,
                  done: 0,
                  deadLettered: 0,
                  expiresAt,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...jobListKey(createdAt, job.id), jobId: job.id, expiresAt },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (cancelledBy(error, 0)) {
        const running = await this.documents.send(
          new GetCommand({ TableName: this.tableName, Key: guard, ConsistentRead: true }),
        );
        throw new JobAlreadyRunningError(
          `s3://${job.source.bucket}/${job.source.prefix}`,
          String(running.Item?.jobId ?? 'unknown'),
        );
      }
      throw error;
    }
  }

  /**
   * What a worker computes results with, recorded as it starts (one PutItem per task start): the
   * reference of `submit --stale`. The latest start wins; a clock behind the recorded one does not.
   */
  async recordWorkerFingerprint(worker: WorkerFingerprint): Promise<void> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...workerFingerprintKey, ...worker },
          ConditionExpression: 'attribute_not_exists(pk) OR startedAt <= :startedAt',
          ExpressionAttributeValues: { ':startedAt': worker.startedAt },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }

  /** The fingerprint the workers last started with, if one has started since jobs existed. */
  async workerFingerprint(): Promise<WorkerFingerprint | undefined> {
    const { Item: item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: workerFingerprintKey, ConsistentRead: true }),
    );
    if (!item || typeof item.fingerprint !== 'string') return undefined;
    return {
      fingerprint: item.fingerprint,
      modelSha256: String(item.modelSha256 ?? ''),
      startedAt: String(item.startedAt ?? ''),
    };
  }

  /** Listing progress: images and bytes listed so far. */
  async listedSoFar(jobId: string, listed: number, bytes: number): Promise<void> {
    await this.update(
      jobId,
      'SET #listed = :listed, #bytes = :bytes',
      { ':listed': listed, ':bytes': bytes },
      COUNTER_NAMES,
    );
  }

  /** Listing is done: `total` is known and the job starts enqueueing. */
  async listingFinished(jobId: string, total: number, bytes: number, now = new Date()): Promise<void> {
    await this.update(
      jobId,
      'SET #listed = :total, #total = :total, #bytes = :bytes, #state = :enqueueing, listedAt = :now',
      {
        ':total': total,
        ':bytes': bytes,
        ':enqueueing': 'enqueueing',
        ':now': now.toISOString(),
      },
      COUNTER_NAMES,
    );
  }

  /** Enqueueing progress: the first `enqueued` images of the manifest are on the queue. Never moves back. */
  async enqueuedSoFar(jobId: string, enqueued: number): Promise<void> {
    await this.update(
      jobId,
      'SET #enqueued = :enqueued',
      { ':enqueued': enqueued },
      COUNTER_NAMES,
      '#enqueued <= :enqueued',
    );
  }

  /** Every image is on the queue. The state stays `completed` if the results were all in already. */
  async enqueueFinished(jobId: string, now = new Date()): Promise<void> {
    await this.update(
      jobId,
      'SET #state = :enqueued, enqueuedAt = :now',
      { ':enqueued': 'enqueued', ':now': now.toISOString(), ':completed': 'completed' },
      COUNTER_NAMES,
      '#state <> :completed',
    ).catch((error: unknown) => {
      if (!isConditionFailed(error)) throw error;
    });
  }

  /** The job, read consistently (one GetItem); undefined when there is none. */
  async get(jobId: string): Promise<Job | undefined> {
    const answer = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: jobKey(jobId), ConsistentRead: true }),
    );
    return answer.Item ? toJob(answer.Item) : undefined;
  }

  /** The newest jobs, newest first (one Query and one BatchGetItem). */
  async recent(limit = 20): Promise<Job[]> {
    const listed = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :jobs',
        ExpressionAttributeValues: { ':jobs': 'JOBS' },
        ScanIndexForward: false,
        Limit: Math.min(limit, 100),
      }),
    );
    const ids = (listed.Items ?? []).map((item) => String(item.jobId));
    if (ids.length === 0) return [];
    const jobs = new Map<string, Job>();
    let keys: Array<Record<string, unknown>> | undefined = ids.map((id) => jobKey(id));
    for (let round = 0; keys && keys.length > 0 && round < 5; round++) {
      const answer: BatchGetCommandOutput = await this.documents.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of answer.Responses?.[this.tableName] ?? []) jobs.set(String(item.id), toJob(item));
      keys = answer.UnprocessedKeys?.[this.tableName]?.Keys;
    }
    return ids.flatMap((id) => (jobs.has(id) ? [jobs.get(id)!] : []));
  }

  /**
   * Counts images of one job, each image version once, in one transaction: the image's item
   * (written only if absent, or over its last-try marker) and the job's counters, incremented by
   * the images this call counts — and `deadLettered` decremented by those that had a last-try
   * marker (see {@link markLastTry}). An item that exists already cancels the transaction with its
   * reason; those items are read: a counted one is `already-counted` (a redelivery), a last-try
   * marker is counted over, and the rest is tried again. A conflict with another writer of the
   * job's item (DynamoDB cancels concurrent transactions on one item) is tried again after a
   * jittered pause. Answers in the order asked; throws {@link JobNotFoundError} when the job is
   * not in the table. At most {@link MAX_IMAGES_PER_COUNT} images per call.
   */
  async countImages(
    jobId: string,
    images: ReadonlyArray<{
      readonly image: CountedImage;
      readonly outcome: CountedOutcome;
      /** Its result was already stored for this ETag and fingerprint (see {@link Job.alreadyStored}). */
      readonly alreadyStored?: boolean;
    }>,
    now = new Date(),
  ): Promise<Array<'counted' | 'already-counted'>> {
    if (images.length > MAX_IMAGES_PER_COUNT)
      throw new RangeError(`at most ${MAX_IMAGES_PER_COUNT} images per count, got ${images.length}`);
    const answers = images.map((): 'counted' | 'already-counted' => 'already-counted');
    const expiresAt = expiresAtFor(now);
    // The same image version twice in one call (a message and its redelivery at once): counted once.
    const markers = new Map<string, number>();
    for (const [index, { image }] of images.entries()) {
      const marker = countedImageKey(jobId, image).pk;
      if (!markers.has(marker)) markers.set(marker, index);
    }
    let pending = [...markers.values()];
    /** The images whose item is a last-try marker, as last read. */
    const overLastTry = new Set<number>();
    for (let attempt = 1; pending.length > 0; attempt++) {
      const totals = { stored: 0, errors: 0, skipped: 0, alreadyStored: 0, recovered: 0 };
      for (const index of pending) {
        totals[images[index]!.outcome]++;
        if (images[index]!.alreadyStored) totals.alreadyStored++;
        if (overLastTry.has(index)) totals.recovered++;
      }
      try {
        await this.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              ...pending.map((index) => ({
                Put: {
                  TableName: this.tableName,
                  Item: {
                    ...countedImageKey(jobId, images[index]!.image),
                    jobId,
                    outcome: images[index]!.outcome,
                    ...(images[index]!.alreadyStored ? { alreadyStored: true } : {}),
                    expiresAt,
                  },
                  ...(overLastTry.has(index)
                    ? {
                        ConditionExpression: 'outcome = :lastTry',
                        ExpressionAttributeValues: { ':lastTry': LAST_TRY },
                      }
                    : { ConditionExpression: 'attribute_not_exists(pk)' }),
                },
              })),
              {
                Update: {
                  TableName: this.tableName,
                  Key: jobKey(jobId),
                  UpdateExpression:
                    'ADD #done :done, #stored :stored, #errors :errors, #skipped :skipped, #alreadyStored :alreadyStored, deadLettered :recovered SET firstCountedAt = if_not_exists(firstCountedAt, :now), lastCountedAt = :now',
                  ConditionExpression: 'attribute_exists(pk)',
                  ExpressionAttributeNames: {
                    '#done': 'done',
                    '#stored': 'stored',
                    '#errors': 'errors',
                    '#skipped': 'skipped',
                    '#alreadyStored': 'alreadyStored',
                  },
                  ExpressionAttributeValues: {
                    ':done': pending.length,
                    ':stored': totals.stored,
                    ':errors': totals.errors,
                    ':skipped': totals.skipped,
                    ':alreadyStored': totals.alreadyStored,
                    ':recovered': -totals.recovered,
                    ':now': now.toISOString(),
                  },
                },
              },
            ],
          }),
        );
        for (const index of pending) answers[index] = 'counted';
        return answers;
      } catch (error) {
        const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : undefined;
        if (reasons?.[pending.length]?.Code === 'ConditionalCheckFailed') throw new JobNotFoundError(jobId);
        const refused = reasons ? pending.filter((_, i) => reasons[i]?.Code === 'ConditionalCheckFailed') : [];
        if (refused.length > 0 && attempt < MAX_COUNT_ATTEMPTS) {
          // What is there instead: a counted image (a redelivery), or a last-try marker to count over.
          for (const index of refused) {
            const outcome = await this.imageOutcome(jobId, images[index]!.image);
            if (outcome === LAST_TRY) overLastTry.add(index);
            else overLastTry.delete(index);
            if (outcome !== undefined && outcome !== LAST_TRY) pending = pending.filter((other) => other !== index);
          }
          continue;
        }
        if (attempt >= MAX_COUNT_ATTEMPTS || !isConflict(error, reasons)) throw error;
        await sleep(Math.random() * 20 * 2 ** Math.min(attempt, 5));
      }
    }
    return answers;
  }

  /** What an image's item says: its outcome, {@link LAST_TRY}, or undefined when there is none. */
  private async imageOutcome(jobId: string, image: CountedImage): Promise<string | undefined> {
    const { Item: item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: countedImageKey(jobId, image), ConsistentRead: true }),
    );
    return item ? String(item.outcome) : undefined;
  }

  /**
   * The last receive of an image's message has begun (the queue's `maxReceiveCount`): if the image
   * has no outcome yet, it is marked and counted in `deadLettered` (one transaction), since if this
   * try fails too its message goes to the dead-letter queue. Counting it later takes it out again
   * (see {@link countImages}). Returns whether it was marked now: not when it is counted already,
   * or was marked before.
   */
  async markLastTry(jobId: string, image: CountedImage, now = new Date()): Promise<boolean> {
    const expiresAt = expiresAtFor(now);
    try {
      await this.documents.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: { ...countedImageKey(jobId, image), jobId, outcome: LAST_TRY, expiresAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: jobKey(jobId),
                UpdateExpression: 'ADD deadLettered :one',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
          ],
        }),
      );
      return true;
    } catch (error) {
      if (cancelledBy(error, 1)) throw new JobNotFoundError(jobId);
      if (cancelledBy(error, 0)) return false;
      throw error;
    }
  }

  /**
   * Claims the right to send the job's completion event: it succeeds for one caller only, once
   * every image is done — or again after {@link COMPLETION_CLAIM_MS} if the claimant never said
   * the event was sent (it was stopped in between). Returns the completed job to the one caller
   * that must send the event, undefined to every other.
   */
  async claimCompletion(jobId: string, now = new Date()): Promise<Job | undefined> {
    try {
      const answer = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression:
            'SET #state = :completed, finishedAt = if_not_exists(finishedAt, :now), completionEvent = :sending, claimUntil = :until',
          ConditionExpression:
            'attribute_exists(#total) AND #done >= #total AND (attribute_not_exists(completionEvent) OR (completionEvent = :sending AND claimUntil < :nowMs))',
          ExpressionAttributeNames: { '#state': 'state', '#total': 'total', '#done': 'done' },
          ExpressionAttributeValues: {
            ':completed': 'completed',
            ':now': now.toISOString(),
            ':sending': 'sending',
            ':until': now.getTime() + COMPLETION_CLAIM_MS,
            ':nowMs': now.getTime(),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return answer.Attributes ? toJob(answer.Attributes) : undefined;
    } catch (error) {
      if (isConditionFailed(error)) return undefined;
      throw error;
    }
  }

  /** The claimant could not send the event: another may claim it at once. */
  async releaseClaim(jobId: string): Promise<void> {
    await this.update(
      jobId,
      'SET claimUntil = :zero',
      { ':zero': 0, ':sending': 'sending' },
      undefined,
      'completionEvent = :sending',
    );
  }

  /** The completion event is sent: nobody sends it again, and the prefix may be submitted again. */
  async completionSent(job: Job): Promise<void> {
    await this.update(job.id, 'SET completionEvent = :sent REMOVE claimUntil', { ':sent': 'sent' });
    await this.releasePrefix(job);
  }

  /** Removes a job that enqueued nothing (an empty prefix): its item, its place in the list, its guard. */
  async discard(job: Job): Promise<void> {
    await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: jobKey(job.id) }));
    await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: jobListKey(job.createdAt, job.id) }));
    await this.releasePrefix(job);
  }

  private async releasePrefix(job: Job): Promise<void> {
    await this.documents
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: prefixGuardKey(job.source.bucket, job.source.prefix),
          ConditionExpression: 'jobId = :id',
          ExpressionAttributeValues: { ':id': job.id },
        }),
      )
      .catch((error: unknown) => {
        if (!isConditionFailed(error)) throw error;
      });
  }

  private async update(
    jobId: string,
    expression: string,
    values: Record<string, unknown>,
    names?: Record<string, string>,
    condition?: string,
  ): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: jobKey(jobId),
          UpdateExpression: expression,
          ConditionExpression: condition ? `attribute_exists(pk) AND ${condition}` : 'attribute_exists(pk)',
          ExpressionAttributeValues: values,
          ...namesUsed(names, `${expression} ${condition ?? ''}`),
        }),
      );
    } catch (error) {
      if (isConditionFailed(error) && !(await this.get(jobId))) throw new JobNotFoundError(jobId);
      throw error;
    }
  }
}

/** DynamoDB refuses names an expression does not use: only those it does. */
function namesUsed(names: Record<string, string> | undefined, expressions: string) {
  const used = Object.entries(names ?? {}).filter(([alias]) => new RegExp(`${alias}\\b`).test(expressions));
  return used.length > 0 ? { ExpressionAttributeNames: Object.fromEntries(used) } : {};
}

/** A transaction that lost to a concurrent writer of one of its items, or was throttled: worth another try. */
function isConflict(error: unknown, reasons: ReadonlyArray<{ Code?: string }> | undefined): boolean {
  const name = (error as { name?: string }).name;
  if (name === 'TransactionConflictException' || name === 'TransactionInProgressException') return true;
  return (reasons ?? []).some((reason) => reason.Code === 'TransactionConflict' || reason.Code === 'ThrottlingError');
}

function isConditionFailed(error: unknown): boolean {
  return (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

/** True when a transaction was cancelled because the condition of its `index`th item failed. */
function cancelledBy(error: unknown, index: number): boolean {
  return (
    error instanceof TransactionCanceledException &&
    error.CancellationReasons?.[index]?.Code === 'ConditionalCheckFailed'
  );
}

function toJob(item: Record<string, any>): Job {
  const number = (value: unknown) => (typeof value === 'number' ? value : 0);
  return {
    id: String(item.id),
    source: { bucket: String(item.source?.bucket ?? ''), prefix: String(item.source?.prefix ?? '') },
    ...(typeof item.staleAgainst === 'string' ? { staleAgainst: item.staleAgainst } : {}),
    ...(typeof item.inventory === 'string' ? { inventory: item.inventory } : {}),
    state: item.state as JobState,
    manifestKey: String(item.manifestKey ?? ''),
    createdAt: String(item.createdAt),
    listed: number(item.listed),
    ...(typeof item.total === 'number' ? { total: item.total } : {}),
    bytes: number(item.bytes),
    enqueued: number(item.enqueued),
    stored: number(item.stored),
    errors: number(item.errors),
    skipped: number(item.skipped),
    alreadyStored: number(item.alreadyStored),
    done: number(item.done),
    deadLettered: number(item.deadLettered),
    listedAt: item.listedAt,
    enqueuedAt: item.enqueuedAt,
    firstCountedAt: item.firstCountedAt,
    lastCountedAt: item.lastCountedAt,
    finishedAt: item.finishedAt,
    completionEvent: item.completionEvent,
    claimUntil: item.claimUntil,
  };
}
