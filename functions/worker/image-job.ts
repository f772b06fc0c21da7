import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { Logger } from '../../common/logger.js';
import { decodeImage, errorOutcome, type BatchClassifier, type ClassificationOutcome, type LabelScore } from '../../model/index.js';
import { hasLongKeyResult, resultKeyFor, S3_MAX_KEY_BYTES, skipReasonFor } from '../../pipeline/object-keys.js';
import { buildResult, normalizeEtag, type ResultDocument, type ResultTimings } from '../../pipeline/result-document.js';
import type { S3ObjectRecord } from '../../pipeline/s3-event.js';
import type { WorkerConfig } from './config.js';
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
import type { ObjectStore, StoredResultTag } from './object-store.js';
import { writeResultInOrder } from './ordered-result-write.js';
import { classifyFailure, type RecordOutcome } from './outcome-policy.js';
import type { ResultEventPublisher } from './result-event-publisher.js';
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
}

/** Smallest reservation for a download whose event states no size. */
const MIN_DOWNLOAD_RESERVATION = 64 * 1024;

/**
 * One S3 record from skip decision to stored result: skip what is not an upload image, skip what
 * is already stored for the same ETag and fingerprint, download that ETag's bytes (memory
 * reserved first), decode (a few at a time, working memory reserved), drop the bytes, wait for a
 * batch, and store the result. `classifyFailure` decides what a failure becomes; a fatal one is
 * thrown to the queue consumer.
 */
export class ImageJobRunner {
  private readonly limitDecode = pLimit(availableParallelism());

  constructor(private readonly dependencies: ImageJobDependencies) {}

  async run(record: S3ObjectRecord, messageId: string): Promise<RecordOutcome> {
    const { config, store, storedResults, batcher, classifier, memory, fingerprint, logger, stats } = this.dependencies;
    const { bucket, key } = record;
    const skipReason = config.bucketName && bucket !== config.bucketName ? 'other-bucket' : skipReasonFor(key, config);
    if (skipReason) {
      stats.skipped++;
      logger.info({ bucket, key, reason: skipReason, messageId }, 'record skipped');
      return 'skipped';
    }
    const resultKey = resultKeyFor(key, config);
    const etag = normalizeEtag(record.eTag);
    const timings = { downloadMs: 0, preprocessMs: 0, inferenceMs: 0, batchSize: 0 };
    let outcome: ClassificationOutcome;
    if (hasLongKeyResult(key, config)) {
      outcome = { status: 'error', error: { code: 'KEY_TOO_LONG', message: `the upload key is ${Buffer.byteLength(key, 'utf8')} bytes: its result key would pass S3's ${S3_MAX_KEY_BYTES}; shorten the key (this result is stored at ${resultKey})` } };
      logger.warn({ key, resultKey, messageId }, 'upload key too long to mirror; storing an error result at its short key');
      return this.store(record, etag, resultKey, outcome, timings, messageId);
    }
    let existing: StoredResultTag | undefined;
    try {
      existing = await storedResults.find(bucket, resultKey);
      if (existing && existing.sourceEtag === etag && existing.fingerprint === fingerprint) {
        stats.duplicates++;
        logger.info({ key, resultKey, messageId }, 'result already stored for this ETag and fingerprint; not recomputed');
        // Its event may not have been sent (a failed PutEvents, a task stopped in between): send it
        // again, so that every stored result has at least one event.
        return (await this.publishStored(bucket, resultKey, messageId)) ? 'duplicate' : 'retry';
      }
      const rgb = await this.downloadAndDecode(record, etag, timings);
      const batched = await batcher.add(rgb);
      timings.inferenceMs = batched.inferenceMs;
      timings.batchSize = batched.batchSize;
      outcome = { status: 'ok', labels: batched.result };
    } catch (error) {
      const kind = classifyFailure(error);
      const code = (error as { code?: string }).code;
      if (kind === 'fatal') throw error;
      if (kind === 'superseded') {
        stats.superseded++;
        logger.info({ key, etag, messageId }, 'event superseded by a newer upload of the same key; skipped');
        return 'superseded';
      }
      if (kind === 'configuration') {
        stats.retried++;
        logger.error({ key, messageId, code, err: error }, 'configuration error: the message goes back to the queue until it is fixed');
        return 'retry';
      }
      if (kind === 'transient') {
        stats.retried++;
        logger.warn({ key, messageId, code, err: error }, 'transient failure; the message goes back to the queue');
        return 'retry';
      }
      outcome = errorOutcome(error);
      logger.warn({ key, messageId, code }, 'image cannot be classified; storing an error result');
    }
    return this.store(record, etag, resultKey, outcome, timings, messageId, { stored: existing });
  }

  /**
   * Stores a result (an image's labels or its error) unless a newer version's result is stored
   * (see `writeResultInOrder`); a failed write sends the message back. `alreadyRead` is the stored
   * result as the duplicate check saw it, which saves the first read.
   */
  private async store(
    record: S3ObjectRecord,
    etag: string,
    resultKey: string,
    outcome: ClassificationOutcome,
    timings: ResultTimings,
    messageId: string,
    alreadyRead?: { readonly stored: StoredResultTag | undefined },
  ): Promise<RecordOutcome> {
    const { store, classifier, fingerprint, logger, stats } = this.dependencies;
    const { bucket, key } = record;
    const document = buildResult({ source: { bucket, key, etag, size: record.size } }, { outcome, model: classifier.model, fingerprint, device: classifier.device, timings, processedAt: new Date() });
    try {
      const written = await writeResultInOrder(store, bucket, resultKey, document, { etag, sequencer: record.sequencer }, alreadyRead);
      if (written === 'older') {
        stats.superseded++;
        logger.info({ key, etag, resultKey, messageId }, 'a newer version of the image has its result stored already; this older one is not written');
        return 'superseded';
      }
    } catch (error) {
      if (classifyFailure(error) === 'configuration') logger.error({ key, resultKey, messageId, err: error }, 'configuration error: the result cannot be stored');
      stats.retried++;
      logger.warn({ key, resultKey, messageId, err: error }, 'result could not be stored; the message goes back to the queue');
      return 'retry';
    }
    if (outcome.status === 'ok') stats.classified++;
    else stats.errorResults++;
    if (!(await this.publish(document, resultKey, messageId))) return 'retry';
    return outcome.status === 'ok' ? 'stored' : 'error-stored';
  }

  /** Sends a stored result's event; false (and the message goes back to the queue) when it could not be sent. */
  private async publish(document: ResultDocument, resultKey: string, messageId: string): Promise<boolean> {
    const { events, logger, stats } = this.dependencies;
    if (!events) return true;
    try {
      await events.publish(document, resultKey);
      return true;
    } catch (error) {
      stats.retried++;
      logger.warn({ key: document.source.key, resultKey, messageId, err: error }, 'result stored, but its event could not be sent; the message goes back to the queue to send it again');
      return false;
    }
  }

  /** The event of a result stored earlier, read back from S3; false when it could not be sent. */
  private async publishStored(bucket: string, resultKey: string, messageId: string): Promise<boolean> {
    const { events, store, logger } = this.dependencies;
    if (!events) return true;
    let document: ResultDocument | undefined;
    try {
      document = await store.readResult(bucket, resultKey);
    } catch (error) {
      logger.warn({ resultKey, messageId, err: error }, 'stored result could not be read to send its event; the message goes back to the queue');
      return false;
    }
    if (!document) return true; // deleted since the lookup: nothing to announce
    return this.publish(document, resultKey, messageId);
  }

  /**
   * The download and the decode, inside the memory budget: the upload's bytes are reserved before
   * they are read and released, with the last reference to them, once the image is decoded.
   */
  private async downloadAndDecode(record: S3ObjectRecord, etag: string, timings: { downloadMs: number; preprocessMs: number }): Promise<Uint8Array> {
    const { config, store, memory } = this.dependencies;
    let reserved = Math.min(config.maxImageBytes, Math.max(MIN_DOWNLOAD_RESERVATION, record.size));
    const releases: ReleaseMemory[] = [await memory.downloads.reserve(reserved)];
    try {
      let started = performance.now();
      let bytes: Uint8Array | undefined = await store.download(record.bucket, record.key, {
        etag,
        maxBytes: config.maxImageBytes,
        // The event's size is only a claim: reserve more if the object is larger.
        beforeBody: async (contentLength) => {
          if (contentLength > reserved) releases.push(await memory.downloads.reserve(contentLength - reserved));
          reserved = Math.max(reserved, contentLength);
        },
      });
      timings.downloadMs = performance.now() - started;
      started = performance.now();
      const limits = { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels };
      const image = await this.limitDecode(() => decodeImage(bytes!, limits, (decodeBytes) => memory.decoding.reserve(decodeBytes)));
      bytes = undefined;
      timings.preprocessMs = performance.now() - started;
      return image.rgb;
    } finally {
      for (const release of releases) release();
    }
  }
}
