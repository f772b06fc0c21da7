import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { PipelineError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { decodeImage, errorOutcome, type BatchClassifier, type ClassificationOutcome, type LabelScore } from '../../model/index.js';
import { resultKeyFor, skipReasonFor } from '../../pipeline/object-keys.js';
import { buildResult, normalizeEtag } from '../../pipeline/result-document.js';
import type { S3ObjectRecord } from '../../pipeline/s3-event.js';
import type { WorkerConfig } from './config.js';
import type { ImageBatcher } from './image-batcher.js';
import type { ObjectStore } from './object-store.js';
import type { StoredResultLookup } from './stored-result-lookup.js';

/** `done`: the record needs nothing more (result stored, skipped, or already there). `retry`: send the message back. */
export type ImageJobOutcome = 'done' | 'retry';

/** Counters the jobs keep, part of the worker's stats. */
export interface ImageJobStats {
  classified: number;
  errorResults: number;
  skipped: number;
  duplicates: number;
  retried: number;
}

/** What an image job runs through. */
export interface ImageJobDependencies {
  readonly config: WorkerConfig;
  readonly store: ObjectStore;
  readonly storedResults: StoredResultLookup;
  readonly batcher: ImageBatcher<LabelScore[]>;
  readonly classifier: BatchClassifier;
  readonly logger: Logger;
  readonly stats: ImageJobStats;
}

/**
 * One S3 record from skip decision to stored result: skip what is not an upload image, skip what
 * is already stored for the same ETag and model, download, decode (a few at a time), wait for a
 * batch, and store the result. Image errors become error results; transient failures ask for a retry.
 */
export class ImageJobRunner {
  private readonly limitDecode = pLimit(availableParallelism());

  constructor(private readonly dependencies: ImageJobDependencies) {}

  async run(record: S3ObjectRecord, messageId: string): Promise<ImageJobOutcome> {
    const { config, store, storedResults, batcher, classifier, logger, stats } = this.dependencies;
    const { bucket, key } = record;
    const skipReason = config.bucketName && bucket !== config.bucketName ? 'other-bucket' : skipReasonFor(key, config);
    if (skipReason) {
      stats.skipped++;
      logger.info({ bucket, key, reason: skipReason, messageId }, 'record skipped');
      return 'done';
    }
    const resultKey = resultKeyFor(key, config);
    const etag = normalizeEtag(record.eTag);
    const timings = { downloadMs: 0, preprocessMs: 0, inferenceMs: 0, batchSize: 0 };
    let outcome: ClassificationOutcome;
    try {
      const existing = await storedResults.find(bucket, resultKey);
      if (existing && existing.sourceEtag === etag && existing.modelSha256 === classifier.model.sha256) {
        stats.duplicates++;
        logger.info({ key, resultKey, messageId }, 'result already stored for this ETag and model; not recomputed');
        return 'done';
      }
      let started = performance.now();
      const bytes = await store.download(bucket, key, config.maxImageBytes);
      timings.downloadMs = performance.now() - started;
      started = performance.now();
      const image = await this.limitDecode(() => decodeImage(bytes, { maxBytes: config.maxImageBytes, maxPixels: config.maxImagePixels }));
      timings.preprocessMs = performance.now() - started;
      const batched = await batcher.add(image.rgb);
      timings.inferenceMs = batched.inferenceMs;
      timings.batchSize = batched.batchSize;
      outcome = { status: 'ok', labels: batched.result };
    } catch (error) {
      if (isRetryable(error)) {
        stats.retried++;
        logger.warn({ key, messageId, code: (error as PipelineError).code, err: error }, 'transient failure; the message goes back to the queue');
        return 'retry';
      }
      outcome = errorOutcome(error);
      logger.warn({ key, messageId, code: outcome.status === 'error' ? outcome.error.code : undefined }, 'image cannot be classified; storing an error result');
    }
    const document = buildResult({ source: { bucket, key, etag, size: record.size } }, { outcome, model: classifier.model, device: classifier.device, timings, processedAt: new Date() });
    try {
      await store.writeResult(bucket, resultKey, document);
    } catch (error) {
      stats.retried++;
      logger.warn({ key, resultKey, messageId, err: error }, 'result could not be stored; the message goes back to the queue');
      return 'retry';
    }
    if (outcome.status === 'ok') stats.classified++;
    else stats.errorResults++;
    return 'done';
  }
}

/** Transient AWS failures and failed inference runs go back to the queue; the rest become error results. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof PipelineError) return error.retryable || error.code === 'INFERENCE_FAILED';
  return true;
}
