import { setTimeout as sleep } from 'node:timers/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { PipelineError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import type { BatchClassifier, LabelScore } from '../../model/index.js';
import { MessageFormatError } from '../../pipeline/errors.js';
import { parseS3Event } from '../../pipeline/s3-event.js';
import type { WorkerConfig } from './config.js';
import { ImageBatcher } from './image-batcher.js';
import { ImageJobRunner, type ImageJobStats } from './image-job.js';
import { ObjectStore } from './object-store.js';
import { changeVisibility, MessageDeleter, type MessageHandle } from './queue-operations.js';
import { StoredResultLookup } from './stored-result-lookup.js';
import { TaskProtection } from './task-protection.js';

/** What the queue consumer is given: every client it talks through. */
export interface QueueConsumerDependencies {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly classifier: BatchClassifier;
  readonly logger: Logger;
  /** ECS scale-in protection. Default: from `$ECS_AGENT_URI` (a no-op without it). */
  readonly taskProtection?: TaskProtection;
}

/** Counters since start, for logs, tests and the benchmark. */
export interface QueueConsumerStats extends ImageJobStats {
  messages: number;
  invalidMessages: number;
  batches: number;
}

/**
 * The worker's queue consumer: several long polls in flight, S3 event records turned into image jobs,
 * downloads and decoding running ahead of inference (bounded by `maxImagesInFlight`), images from
 * many messages gathered into one batch, one result JSON per image, and a message deleted only
 * once the results of all its records are stored. A heartbeat keeps in-flight messages invisible.
 */
export class QueueConsumer {
  readonly stats: QueueConsumerStats = { messages: 0, classified: 0, errorResults: 0, skipped: 0, duplicates: 0, retried: 0, invalidMessages: 0, batches: 0 };
  private readonly abort = new AbortController();
  private readonly deleter: MessageDeleter;
  private readonly batcher: ImageBatcher<LabelScore[]>;
  private readonly jobs: ImageJobRunner;
  private readonly taskProtection: TaskProtection;
  private readonly inFlight = new Map<string, MessageHandle>();
  private readonly released = new Set<string>();
  private readonly active = new Set<Promise<void>>();
  private capacityWaiters: Array<() => void> = [];
  private imagesInFlight = 0;
  private receiveLoops: Promise<void>[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: WorkerConfig,
    private readonly dependencies: QueueConsumerDependencies,
  ) {
    this.deleter = new MessageDeleter(dependencies.sqs, config.queueUrl, dependencies.logger);
    this.taskProtection = dependencies.taskProtection ?? new TaskProtection({ agentUri: process.env.ECS_AGENT_URI, logger: dependencies.logger });
    this.batcher = new ImageBatcher({
      maxBatch: Math.min(config.maxBatch, dependencies.classifier.maxBatchSize),
      maxWaitMs: config.maxWaitMs,
      runBatch: async (images) => {
        const started = performance.now();
        const labels = await dependencies.classifier.classifyBatch(images);
        this.stats.batches++;
        dependencies.logger.info(
          { batchSize: images.length, inferenceMs: Math.round(performance.now() - started), imagesInFlight: this.imagesInFlight, waiting: this.batcher.waiting },
          'batch classified',
        );
        return labels;
      },
    });
    const store = new ObjectStore(dependencies.s3);
    this.jobs = new ImageJobRunner({
      config,
      store,
      storedResults: new StoredResultLookup(store),
      batcher: this.batcher,
      classifier: dependencies.classifier,
      logger: dependencies.logger,
      stats: this.stats,
    });
  }

  /** Starts the receive loops and the heartbeat. */
  start(): void {
    const { logger, classifier } = this.dependencies;
    logger.info(
      { queueUrl: this.config.queueUrl, device: classifier.device, model: classifier.model, maxBatch: this.config.maxBatch, maxWaitMs: this.config.maxWaitMs, receiveConcurrency: this.config.receiveConcurrency },
      'worker started',
    );
    if (!classifier.model.pretrained) logger.warn({ weights: classifier.model.weights }, 'the model weights are NOT pretrained: labels are not real predictions');
    this.receiveLoops = Array.from({ length: this.config.receiveConcurrency }, () => this.receiveLoop());
    this.heartbeat = setInterval(() => void this.extendVisibility(), this.config.heartbeatIntervalSeconds * 1000);
    this.heartbeat.unref();
  }

  /**
   * Stops receiving, lets in-flight messages finish within the grace period, makes the rest
   * visible again at once, and flushes deletions. Safe to call more than once.
   *
   * Long polls under way are not aborted: SQS may already have handed them messages, which an
   * aborted request would hide until their visibility timeout. They end within
   * `receiveWaitSeconds`, and whatever they bring is made visible again at once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    const { logger } = this.dependencies;
    logger.info({ inFlightMessages: this.inFlight.size }, 'worker stopping: no more receives');
    this.abort.abort();
    this.wakeCapacityWaiters();
    const graceMs = this.config.shutdownGraceSeconds * 1000;
    const drained = Promise.all(this.receiveLoops).then(() => Promise.all([...this.active])).then(() => true);
    const finished = await Promise.race([drained, sleep(graceMs, false, { ref: false })]);
    if (!finished) {
      const remaining = [...this.inFlight.values()];
      for (const handle of remaining) this.released.add(handle.messageId);
      await changeVisibility(this.dependencies.sqs, this.config.queueUrl, remaining, 0, logger);
      logger.warn({ released: remaining.length, graceMs }, 'grace period over: unfinished messages made visible again');
    }
    await Promise.all(this.receiveLoops);
    clearInterval(this.heartbeat);
    await this.deleter.flush();
    await this.taskProtection.release();
    logger.info({ ...this.stats }, 'worker stopped');
  }

  private async receiveLoop(): Promise<void> {
    const { sqs, logger } = this.dependencies;
    while (!this.abort.signal.aborted) {
      await this.waitForCapacity();
      if (this.abort.signal.aborted) break;
      let messages: Message[];
      try {
        const response = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.config.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.config.receiveWaitSeconds,
            VisibilityTimeout: this.config.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        messages = response.Messages ?? [];
      } catch (error) {
        if (this.abort.signal.aborted) break;
        logger.warn({ err: error }, 'receive failed; retrying in 1 s');
        await sleep(1000, undefined, { signal: this.abort.signal }).catch(() => undefined);
        continue;
      }
      if (this.abort.signal.aborted) {
        // Received while stopping: hand them straight back rather than start them.
        await changeVisibility(sqs, this.config.queueUrl, messages.map(toHandle), 0, logger);
        break;
      }
      for (const message of messages) {
        const task = this.handleMessage(message).finally(() => this.active.delete(task));
        this.active.add(task);
      }
    }
  }

  private async handleMessage(message: Message): Promise<void> {
    const { logger } = this.dependencies;
    const handle = toHandle(message);
    this.stats.messages++;
    this.inFlight.set(handle.messageId, handle);
    let reserved = 1;
    this.reserveCapacity(1);
    let decision: 'delete' | 'retry' | 'release';
    try {
      const parsed = parseS3Event(message.Body, handle.messageId);
      if (parsed.kind === 'test-event') {
        logger.info({ messageId: handle.messageId, bucket: parsed.bucket }, 's3:TestEvent received and deleted');
        decision = 'delete';
      } else {
        this.reserveCapacity(parsed.records.length - 1);
        reserved += parsed.records.length - 1;
        const outcomes = await Promise.all(parsed.records.map((record) => this.jobs.run(record, handle.messageId)));
        decision = outcomes.every((outcome) => outcome === 'done') ? 'delete' : 'retry';
      }
    } catch (error) {
      this.stats.invalidMessages++;
      const receiveCount = message.Attributes?.ApproximateReceiveCount;
      logger.error({ messageId: handle.messageId, receiveCount, code: (error as PipelineError).code, err: error }, 'message is not an S3 event; returned to the queue for the DLQ');
      decision = error instanceof MessageFormatError ? 'release' : 'retry';
    } finally {
      this.inFlight.delete(handle.messageId);
      this.releaseCapacity(reserved);
    }
    if (this.released.has(handle.messageId)) return;
    if (decision === 'delete') this.deleter.delete(handle);
    else {
      const delay = decision === 'release' ? 0 : this.config.retryDelaySeconds;
      await changeVisibility(this.dependencies.sqs, this.config.queueUrl, [handle], delay, logger);
    }
  }

  private async extendVisibility(): Promise<void> {
    const handles = [...this.inFlight.values()].filter((handle) => !this.released.has(handle.messageId));
    if (handles.length === 0) return;
    await changeVisibility(this.dependencies.sqs, this.config.queueUrl, handles, this.config.visibilityTimeoutSeconds, this.dependencies.logger);
  }

  private async waitForCapacity(): Promise<void> {
    while (this.imagesInFlight >= this.config.maxImagesInFlight && !this.abort.signal.aborted) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
  }

  private reserveCapacity(images: number): void {
    this.imagesInFlight += images;
    this.taskProtection.update(this.imagesInFlight > 0);
  }

  private releaseCapacity(images: number): void {
    this.imagesInFlight -= images;
    this.taskProtection.update(this.imagesInFlight > 0);
    this.wakeCapacityWaiters();
  }

  private wakeCapacityWaiters(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const wake of waiters) wake();
  }
}

function toHandle(message: Message): MessageHandle {
  return { messageId: message.MessageId ?? '', receiptHandle: message.ReceiptHandle ?? '' };
}
