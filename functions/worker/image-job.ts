import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { Logger } from '../../common/logger.js';
import {
  decodeImage,
  errorOutcome,
  type BatchClassifier,
  type ClassificationOutcome,
  type LabelScore,
} from '../../model/index.js';
import { LONG_KEY_RESULTS_FOLDER, S3_MAX_KEY_BYTES } from '../../pipeline/object-keys.js';
import { placeResult, type ResultPlacement, type SourceLayout } from '../../pipeline/result-location.js';
import { buildResult, normalizeEtag } from '../../pipeline/result-document.js';
import type { S3ObjectRecord } from '../../pipeline/s3-event.js';
import { JOB_ID_METADATA } from '../../pipeline/jobs/job-messages.js';
import { isJobId } from '../../pipeline/jobs/job-table.js';
import { sourceLayoutOf, type WorkerConfig } from './config.js';
import type { ImageBatcher } from './image-batcher.js';
import type { MemoryBudget, ReleaseMemory } from './memory-budget.js';

/**
 * The worker's image memory (`IMAGE_MEMORY_MIB`), in two halves: downloaded uploads held until
 * they are decoded, and the working memory of the decodes under way (estimated from each header).
 * Two budgets, not one: a download holds its bytes while it waits to be decoded, so downloads
 * alone could take a shared budget and leave no room for any decode to free them.
 */
export interface ImageMemory {
  readonly downloads: MemoryBudget;
  readonly decoding: MemoryBudget;
}
import type { ObjectStore, StoredResultTag } from '../../pipeline/object-store.js';
import { writeResultInOrder } from './ordered-result-write.js';
import {
  classifyFailure,
  decideRecord,
  type RecordDecision,
  type RecordEvent,
  type RecordOutcome,
  type RecordStep,
} from './outcome-policy.js';
import type { ResultEventPublisher } from './result-event-publisher.js';
import type { JobProgress } from './job-progress.js';
import type { CountedOutcome } from '../../pipeline/jobs/job-store.js';
import type { StoredResultLookup } from './stored-result-lookup.js';

/** Counters the jobs keep, part of the worker's stats. */
export interface ImageJobStats {
  classified: number;
  errorResults: number;
  skipped: number;
  duplicates: number;
  superseded: number;
  retried: number;
}

/** What an image job runs through. */
export interface ImageJobDependencies {
  readonly config: WorkerConfig;
  readonly store: ObjectStore;
  readonly storedResults: StoredResultLookup;
  readonly batcher: ImageBatcher<LabelScore[]>;
  readonly classifier: BatchClassifier;
  readonly memory: ImageMemory;
  /** What results are computed with; a stored result with another fingerprint is computed again. */
  readonly fingerprint: string;
  readonly logger: Logger;
  readonly stats: ImageJobStats;
  /** Sends a completion event per stored result (`EVENT_BUS_NAME`). Default: none. */
  readonly events?: ResultEventPublisher;
  /** Counts the records of `submit` jobs (`JOBS_TABLE`). Default: none (job records are not counted). */
  readonly jobs?: JobProgress;
  /** Turns an upload's bytes into the network's 224×224 RGB. Default: `decodeImage` (the benchmark swaps it). */
  readonly decode?: typeof decodeImage;
}

/** Smallest reservation for a download whose event states no size. */
const MIN_DOWNLOAD_RESERVATION = 64 * 1024;

/** What a record's work is about, for its log lines. */
interface RecordContext {
  readonly record: S3ObjectRecord;
  readonly messageId: string;
  readonly etag: string;
  /** The pipeline's bucket: results are written there whatever bucket the image is in. */
  readonly resultBucket: string;
  readonly resultKey: string;
  /** What the record's work found out: the job an upload belongs to (its `upload --job` metadata). */
  readonly found: FoundJob;
}

/** The job of an upload, as its metadata names it (S3's notification does not). */
interface FoundJob {
  jobId?: string;
}

/** The job id in an object's metadata, if it is one (metadata is the uploader's: anything else is ignored). */
function jobIdIn(metadata: Readonly<Record<string, string>> | undefined): string | undefined {
  const value = metadata?.[JOB_ID_METADATA];
  return value !== undefined && isJobId(value) ? value : undefined;
}

/**
 * One S3 record from skip decision to stored result: skip what is not an upload image, skip what
 * is already stored for the same ETag and fingerprint, download that ETag's bytes (memory
 * reserved first), decode (a few at a time, working memory reserved), drop the bytes, wait for a
 * batch, store the result and send its event. `decideRecord` (outcome-policy.ts) decides what
 * every success and failure becomes; a fatal failure is thrown to the queue consumer.
 */
export class ImageJobRunner {
  private readonly limitDecode = pLimit(availableParallelism());
  private readonly layout: SourceLayout;

  constructor(private readonly dependencies: ImageJobDependencies) {
    this.layout = sourceLayoutOf(dependencies.config);
  }

  /** Where a record's result goes, or why it is skipped (one rule: `placeResult`). */
  private place(record: S3ObjectRecord): ResultPlacement {
    return placeResult(record, this.layout, record.jobId !== undefined);
  }

  /**
   * The record's work, then — for a record of a job that has ended — its count in the job. On the
   * last receive its queue allows (`lastTry`), a job's image is first marked as such (see
   * `JobProgress.markLastTry`): if this try fails too, or the worker dies in it, the job shows the
   * image in the DLQ. An upload's job is known only once its object is read: it is marked if the
   * try fails.
   */
  async run(record: S3ObjectRecord, messageId: string, lastTry = false): Promise<RecordOutcome> {
    const { jobs } = this.dependencies;
    const imageOf = (jobId: string) => ({
      jobId,
      bucket: record.bucket,
      key: record.key,
      etag: normalizeEtag(record.eTag),
    });
    if (lastTry && jobs && record.jobId) await jobs.markLastTry(imageOf(record.jobId));
    const found: FoundJob = {};
    const outcome = await this.runRecord(record, messageId, found);
    const jobId = record.jobId ?? found.jobId;
    if (!jobId || !jobs) return outcome;
    const image = imageOf(jobId);
    if (outcome === 'retry') {
      if (lastTry && !record.jobId) await jobs.markLastTry(image);
      return outcome;
    }
    try {
      await jobs.count(image, await this.countedOutcome(record, outcome), outcome === 'duplicate');
      return outcome;
    } catch (error) {
      const decision = decideRecord({ happened: 'failed', step: 'count', kind: classifyFailure(error) });
      if (decision.action === 'fail-worker') throw error;
      this.log(decision, {
        key: record.key,
        jobId,
        messageId,
        code: (error as { code?: string }).code,
        err: error,
      });
      return this.count(decision);
    }
  }

  /** How an ended record counts in its job; a duplicate counts as what its stored result says. */
  private async countedOutcome(record: S3ObjectRecord, outcome: RecordOutcome): Promise<CountedOutcome> {
    if (outcome === 'stored') return 'stored';
    if (outcome === 'error-stored') return 'errors';
    if (outcome !== 'duplicate') return 'skipped';
    const placement = this.place(record);
    if (!('result' in placement)) return 'skipped';
    const stored = await this.dependencies.store.readResult(placement.result.bucket, placement.result.key);
    return stored?.status === 'ok' ? 'stored' : 'errors';
  }

  private async runRecord(record: S3ObjectRecord, messageId: string, found: FoundJob): Promise<RecordOutcome> {
    const { logger } = this.dependencies;
    const { bucket, key } = record;
    const placement = this.place(record);
    if ('skip' in placement)
      return this.settle({ happened: 'skipped' }, { bucket, key, reason: placement.skip, messageId });
    const context: RecordContext = {
      record,
      messageId,
      etag: normalizeEtag(record.eTag),
      resultBucket: placement.result.bucket,
      resultKey: placement.result.key,
      found,
    };
    if (context.resultKey.startsWith(`${this.layout.resultsPrefix}${LONG_KEY_RESULTS_FOLDER}`)) {
      const message = `the image's key is ${Buffer.byteLength(key, 'utf8')} bytes: its result key would pass S3's ${S3_MAX_KEY_BYTES}; shorten the key (this result is stored at ${context.resultKey})`;
      logger.warn(
        { key, resultKey: context.resultKey, messageId },
        'upload key too long to mirror; storing an error result at its short key',
      );
      return this.work(context, { outcome: { status: 'error', error: { code: 'KEY_TOO_LONG', message } } });
    }
    return this.work(context);
  }

  /**
   * The record's work from its classification (or from a given outcome: an error result) to its
   * event. Every failure, at whichever step, reaches the one `catch` and the policy. A stored
   * result (or a duplicate) is counted when it is in S3, before its event is sent.
   */
  private async work(
    context: RecordContext,
    given?: {
      readonly outcome: ClassificationOutcome;
      readonly alreadyRead?: { readonly stored: StoredResultTag | undefined };
    },
  ): Promise<RecordOutcome> {
    const { store, storedResults, classifier, fingerprint, events } = this.dependencies;
    const { record, messageId, etag, resultBucket, resultKey } = context;
    const { bucket, key } = record;
    const timings = { downloadMs: 0, preprocessMs: 0, inferenceMs: 0, batchSize: 0 };
    let step: RecordStep = 'classify';
    // The stored result as the duplicate check saw it, which saves `writeResultInOrder` its first read.
    let alreadyRead = given?.alreadyRead;
    try {
      if (!given) {
        const stored = await storedResults.find(resultBucket, resultKey);
        alreadyRead = { stored };
        if (stored && stored.sourceEtag === etag && stored.fingerprint === fingerprint) {
          const outcome = this.settle({ happened: 'duplicate' }, { key, resultKey, messageId });
          // An upload of a job counts in it even when its result was there: the job is in its metadata.
          step = 'read-stored';
          if (this.dependencies.jobs && !record.jobId)
            context.found.jobId = jobIdIn(await store.metadata(bucket, key, etag));
          // Its event may not have been sent (a failed PutEvents, a task stopped in between): send it
          // again, so that every stored result has at least one event.
          step = 'read-stored';
          const document = events ? await store.readResult(resultBucket, resultKey) : undefined;
          step = 'publish';
          if (document) await events!.publish(document, resultKey);
          return outcome;
        }
      }
      const outcome = given?.outcome ?? (await this.classify(record, etag, timings, context.found));
      step = 'store';
      const document = buildResult(
        { source: { bucket, key, etag, size: record.size } },
        { outcome, model: classifier.model, fingerprint, device: classifier.device, timings, processedAt: new Date() },
      );
      const written = await writeResultInOrder(
        store,
        resultBucket,
        resultKey,
        document,
        { etag, sequencer: record.sequencer },
        alreadyRead,
      );
      if (written === 'older')
        return this.settle({ happened: 'older-than-stored' }, { key, etag, resultKey, messageId });
      const recordOutcome = this.settle({ happened: outcome.status === 'ok' ? 'stored' : 'error-stored' }, {});
      step = 'publish';
      if (events) await events.publish(document, resultKey);
      return recordOutcome;
    } catch (error) {
      const decision = decideRecord({ happened: 'failed', step, kind: classifyFailure(error) });
      if (decision.action === 'fail-worker') throw error;
      const code = (error as { code?: string }).code;
      if (decision.action === 'store-error-result') {
        this.log(decision, { key, messageId, code });
        return this.work(context, { outcome: errorOutcome(error), alreadyRead });
      }
      this.log(decision, { key, etag, resultKey, messageId, code, err: error });
      return this.count(decision);
    }
  }

  /** Applies the policy's decision for a success: its log line and counter. */
  private settle(event: RecordEvent, fields: Record<string, unknown>): RecordOutcome {
    const decision = decideRecord(event);
    this.log(decision, fields);
    return this.count(decision);
  }

  private log(decision: RecordDecision, fields: Record<string, unknown>): void {
    if (decision.message) this.dependencies.logger[decision.level](fields, decision.message);
  }

  private count(decision: RecordDecision): RecordOutcome {
    if (decision.counter) this.dependencies.stats[decision.counter]++;
    return decision.outcome;
  }

  /** Downloads, decodes and batches the image: its labels. */
  private async classify(
    record: S3ObjectRecord,
    etag: string,
    timings: { downloadMs: number; preprocessMs: number; inferenceMs: number; batchSize: number },
    found: FoundJob,
  ): Promise<ClassificationOutcome> {
    const rgb = await this.downloadAndDecode(record, etag, timings, found);
    const batched = await this.dependencies.batcher.add(rgb);
    timings.inferenceMs = batched.inferenceMs;
    timings.batchSize = batched.batchSize;
    return { status: 'ok', labels: batched.result };
  }

  /**
   * The download and the decode, inside the memory budget: the upload's bytes are reserved before
   * they are read and released, with the last reference to them, once the image is decoded.
   */
  private async downloadAndDecode(
    record: S3ObjectRecord,
    etag: string,
    timings: { downloadMs: number; preprocessMs: number },
    found: FoundJob,
  ): Promise<Uint8Array> {
    const { config, store, memory, decode = decodeImage } = this.dependencies;
    let reserved = Math.min(config.maxImageBytes, Math.max(MIN_DOWNLOAD_RESERVATION, record.size));
    const releases: ReleaseMemory[] = [await memory.downloads.reserve(reserved)];
    try {
      let started = performance.now();
      let bytes: Uint8Array | undefined = await store.download(record.bucket, record.key, {
        etag,
        maxBytes: config.maxImageBytes,
        onMetadata: (metadata) => {
          found.jobId = jobIdIn(metadata);
        },
        // The event's size is only a claim: reserve more if the object is larger.
        beforeBody: async (contentLength) => {
          if (contentLength > reserved) releases.push(await memory.downloads.reserve(contentLength - reserved));
          reserved = Math.max(reserved, contentLength);
        },
      });
      timings.downloadMs = performance.now() - started;
      started = performance.now();
      const limits = { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels };
      const image = await this.limitDecode(() =>
        decode(bytes!, limits, (decodeBytes) => memory.decoding.reserve(decodeBytes)),
      );
      bytes = undefined;
      timings.preprocessMs = performance.now() - started;
      return image.rgb;
    } finally {
      for (const release of releases) release();
    }
  }
}
