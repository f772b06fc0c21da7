import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../../common/logger.js';
import type { BatchClassifier, LabelScore } from '../../model/index.js';
import { resultFingerprint } from '../../pipeline/result-fingerprint.js';
import { parseS3Event, type S3ObjectRecord } from '../../pipeline/s3-event.js';
import { CapacityGate } from './capacity-gate.js';
import type { WorkerConfig } from './config.js';
import { ImageBatcher } from './image-batcher.js';
import { InferenceBreaker } from './inference-breaker.js';
import { JobProgress } from './job-progress.js';
import { ImageJobRunner, type ImageJobDependencies, type ImageJobStats, type ImageMemory } from './image-job.js';
import { MemoryBudget } from './memory-budget.js';
import { MessageLease } from './message-lease.js';
import { ObjectStore } from '../../pipeline/object-store.js';
import { classifyFailure, decideLeaseEnd, type RecordOutcome } from './outcome-policy.js';
import { MessageDeleter } from './queue-operations.js';
import { ReceiveLoop } from './receive-loop.js';
import { sendSplitMessages, shouldSplit, singleRecordBodies } from './split-message.js';
import { ResultEventPublisher } from './result-event-publisher.js';
import { StoredResultLookup } from './stored-result-lookup.js';
import { TaskProtection } from './task-protection.js';

/** What the queue consumer is given: every client it talks through. */
export interface QueueConsumerDependencies {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly classifier: BatchClassifier;
  readonly logger: Logger;
  /** ECS scale-in protection. Default: through the configured ECS agent (a no-op without one). */
  readonly taskProtection?: TaskProtection;
  /** Where completion events go when `EVENT_BUS_NAME` is set. */
  readonly events?: EventBridgeClient;
  /** The job table's client, made when the first record of a job arrives (`JOBS_TABLE` set). */
  readonly dynamo?: () => Promise<DynamoDBClient>;
  /** Decodes each upload. Default: `decodeImage`; the benchmark answers from memory to measure the rest. */
  readonly decode?: ImageJobDependencies['decode'];
}

/** Counters since start, for logs, tests and the benchmark. */
export interface QueueConsumerStats extends ImageJobStats {
  messages: number;
  invalidMessages: number;
  /** Messages of several records split into one message per record (see `SPLIT_FROM_RECEIVE`). */
  splitMessages: number;
  batches: number;
}

/**
 * The worker's queue consumer, built from parts a reader can see: a {@link ReceiveLoop} of long
 * polls that ask for no more than the {@link CapacityGate} has room for; one {@link MessageLease}
 * per received message, which owns its visibility until the one final delete, retry, release or
 * dead-letter; {@link ImageJobRunner}s that download, decode and store within a
 * {@link MemoryBudget}; and an {@link ImageBatcher} that gathers images of many messages into one
 * inference run. `decideLeaseEnd` and `classifyFailure` (outcome-policy.ts) make every decision.
 *
 * Two ways to stop: `stop()` (SIGTERM) finishes what it holds within the grace period and
 * releases the rest; a fatal failure (the inference thread died or is stuck, the queue is gone)
 * releases everything at once and resolves {@link failed}, after which the process should exit
 * non-zero so that ECS replaces the task.
 */
export class QueueConsumer {
  readonly stats: QueueConsumerStats = {
    messages: 0,
    classified: 0,
    errorResults: 0,
    skipped: 0,
    duplicates: 0,
    superseded: 0,
    retried: 0,
    invalidMessages: 0,
    splitMessages: 0,
    batches: 0,
  };
  /** Resolves with the cause once the consumer has failed and released its messages. */
  readonly failed: Promise<Error>;
  private resolveFailed!: (cause: Error) => void;
  private failure: Error | undefined;
  private readonly gate: CapacityGate;
  private readonly memory: ImageMemory;
  private readonly receiver: ReceiveLoop;
  private readonly deleter: MessageDeleter;
  private readonly batcher: ImageBatcher<LabelScore[]>;
  private readonly jobs: ImageJobRunner;
  /** What this worker's results are computed with (see `resultFingerprint`). */
  readonly fingerprint: string;
  private readonly jobProgress: JobProgress;
  private readonly taskProtection: TaskProtection;
  private readonly leases = new Set<MessageLease>();
  private readonly active = new Set<Promise<void>>();
  private readonly breaker = new InferenceBreaker();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: WorkerConfig,
    private readonly dependencies: QueueConsumerDependencies,
  ) {
    const { sqs, logger, classifier } = dependencies;
    this.failed = new Promise((resolve) => (this.resolveFailed = resolve));
    this.gate = new CapacityGate(config.maxImagesInFlight);
    const imageMemoryBytes = config.imageMemoryMiB * 2 ** 20;
    this.memory = {
      downloads: new MemoryBudget(imageMemoryBytes / 2),
      decoding: new MemoryBudget(imageMemoryBytes / 2),
    };
    this.deleter = new MessageDeleter(sqs, config.queueUrl, logger);
    this.taskProtection = dependencies.taskProtection ?? new TaskProtection({ agentUri: config.ecsAgentUri, logger });
    this.receiver = new ReceiveLoop({
      sqs,
      queueUrl: config.queueUrl,
      concurrency: config.receiveConcurrency,
      waitSeconds: config.receiveWaitSeconds,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      gate: this.gate,
      logger,
      onMessage: (message) => this.track(this.handleMessage(message)),
      onFatal: (error) => this.fail(error),
    });
    this.batcher = new ImageBatcher({
      maxBatch: Math.min(config.maxBatch, classifier.maxBatchSize),
      maxWaitMs: config.maxWaitMs,
      runBatch: (images) => this.runBatch(images),
    });
    const store = new ObjectStore(dependencies.s3);
    this.fingerprint = resultFingerprint({
      modelSha256: classifier.model.sha256,
      topK: classifier.topK,
      maxImageBytes: config.maxImageBytes,
      maxImagePixels: config.maxImagePixels,
    });
    this.jobProgress = new JobProgress({
      store:
        config.jobsTable && dependencies.dynamo
          ? async () =>
              new (await import('../../pipeline/jobs/job-store.js')).JobStore(
                await dependencies.dynamo!(),
                config.jobsTable!,
              )
          : undefined,
      events: dependencies.events,
      busName: config.eventBusName,
      logger,
    });
    this.jobs = new ImageJobRunner({
      config,
      store,
      storedResults: new StoredResultLookup(store),
      batcher: this.batcher,
      classifier,
      memory: this.memory,
      fingerprint: this.fingerprint,
      logger,
      stats: this.stats,
      events:
        config.eventBusName && dependencies.events
          ? new ResultEventPublisher(dependencies.events, config.eventBusName)
          : undefined,
      jobs: this.jobProgress,
      decode: dependencies.decode,
    });
  }

  /** Starts receiving. */
  start(): void {
    const { logger, classifier } = this.dependencies;
    const { queueUrl, maxBatch, maxWaitMs, receiveConcurrency, maxImagesInFlight, imageMemoryMiB } = this.config;
    logger.info(
      {
        queueUrl,
        device: classifier.device,
        model: classifier.model,
        maxBatch,
        maxWaitMs,
        receiveConcurrency,
        maxImagesInFlight,
        imageMemoryBytes: imageMemoryMiB * 2 ** 20,
      },
      'worker started',
    );
    if (!classifier.model.pretrained)
      logger.warn(
        { weights: classifier.model.weights },
        'the model weights are NOT pretrained: labels are not real predictions',
      );
    this.receiver.start();
    // For `submit --stale`: in the background, a worker never waits for it.
    void this.jobProgress.recordFingerprint(this.fingerprint, classifier.model.sha256);
  }

  /**
   * Stops receiving, lets in-flight messages finish within the grace period, makes the rest
   * visible again at once, and flushes deletions. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  /** Leases held now (messages received and not yet ended). */
  get messagesInFlight(): number {
    return this.leases.size;
  }

  private async shutDown(): Promise<void> {
    const { logger } = this.dependencies;
    logger.info({ inFlightMessages: this.leases.size }, 'worker stopping: no more receives');
    const receiving = this.receiver.stop();
    const graceMs = this.config.shutdownGraceSeconds * 1000;
    const drained = receiving.then(() => this.settled()).then(() => true);
    const finished = await Promise.race([drained, sleep(graceMs, false, { ref: false })]);
    if (!finished) {
      const remaining = [...this.leases];
      await Promise.all(remaining.map((lease) => lease.end('release')));
      logger.warn({ released: remaining.length, graceMs }, 'grace period over: unfinished messages made visible again');
    }
    await receiving;
    await this.deleter.flush();
    await this.taskProtection.release();
    logger.info({ ...this.stats, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }, 'worker stopped');
  }

  /** Waits until every message handler has finished, including those started meanwhile. */
  private async settled(): Promise<void> {
    while (this.active.size > 0) await Promise.all([...this.active]);
  }

  private track(task: Promise<void>): void {
    const tracked = task.finally(() => this.active.delete(tracked));
    this.active.add(tracked);
  }

  private async handleMessage(message: Message): Promise<void> {
    const { logger } = this.dependencies;
    const lease = new MessageLease(message, {
      sqs: this.dependencies.sqs,
      queueUrl: this.config.queueUrl,
      deleter: this.deleter,
      deadLetterQueueUrl: this.config.deadLetterQueueUrl,
      visibilityTimeoutSeconds: this.config.visibilityTimeoutSeconds,
      heartbeatIntervalSeconds: this.config.heartbeatIntervalSeconds,
      retryDelaySeconds: this.config.retryDelaySeconds,
      logger,
    }).start();
    this.leases.add(lease);
    this.taskProtection.update(true);
    this.stats.messages++;
    await lease.end(decideLeaseEnd(await this.handleBody(lease)));
    this.leases.delete(lease);
    this.taskProtection.update(this.leases.size > 0);
  }

  /** What became of a message's body: its records' outcomes, or the error that stopped it. */
  private async handleBody(lease: MessageLease): Promise<Parameters<typeof decideLeaseEnd>[0]> {
    const { logger } = this.dependencies;
    let records: readonly S3ObjectRecord[];
    try {
      const parsed = parseS3Event(lease.body, lease.messageId);
      if (parsed.kind === 'test-event')
        logger.info({ messageId: lease.messageId, bucket: parsed.bucket }, 's3:TestEvent received and deleted');
      records = parsed.kind === 'test-event' ? [] : parsed.records;
    } catch (error) {
      this.gate.release(1);
      this.stats.invalidMessages++;
      logger.error(
        {
          messageId: lease.messageId,
          receiveCount: lease.receiveCount,
          code: (error as { code?: string }).code,
          err: error,
        },
        'message is not a usable S3 event; it goes to the DLQ',
      );
      return { error };
    }
    if (shouldSplit(records.length, lease.receiveCount)) return this.split(lease, records.length);
    try {
      return { records: await this.runRecords(records, lease) };
    } catch (error) {
      if (classifyFailure(error) === 'fatal') this.fail(error as Error);
      else logger.error({ messageId: lease.messageId, err: error }, 'message failed; it goes back to the queue');
      return { error };
    }
  }

  /**
   * Sends a message of several records, received before, back to the queue as one message per
   * record (see `SPLIT_FROM_RECEIVE` in split-message.ts); the message itself is then deleted. If SQS refuses any
   * part, the message goes back to the queue whole.
   */
  private async split(lease: MessageLease, records: number): Promise<Parameters<typeof decideLeaseEnd>[0]> {
    const { logger } = this.dependencies;
    try {
      await sendSplitMessages(this.dependencies.sqs, this.config.queueUrl, singleRecordBodies(lease.body ?? ''));
      this.stats.splitMessages++;
      logger.info(
        { messageId: lease.messageId, receiveCount: lease.receiveCount, records },
        'a message of several records received again is split into one message per record',
      );
      return { records: [] };
    } catch (error) {
      logger.warn({ messageId: lease.messageId, err: error }, 'split failed; the message goes back to the queue');
      return { error };
    } finally {
      this.gate.release(1);
    }
  }

  /**
   * Runs a message's records, admitting them as capacity frees: the first takes over the slot the
   * message was received with, every further one waits for a slot of its own, and each gives its
   * slot back when it is done.
   */
  private async runRecords(records: readonly S3ObjectRecord[], lease: MessageLease): Promise<RecordOutcome[]> {
    // The queue moves a message received this many times to its DLQ rather than deliver it again.
    const lastTry = lease.receiveCount >= this.config.maxReceiveCount;
    if (records.length === 0) {
      this.gate.release(1);
      return [];
    }
    const runs: Array<Promise<RecordOutcome>> = [];
    try {
      for (const [index, record] of records.entries()) {
        if (index > 0) await this.gate.acquire();
        runs.push(this.jobs.run(record, lease.messageId, lastTry).finally(() => this.gate.release(1)));
      }
    } catch (error) {
      await Promise.allSettled(runs);
      throw error;
    }
    return Promise.all(runs);
  }

  private async runBatch(images: readonly Uint8Array[]): Promise<LabelScore[][]> {
    const started = performance.now();
    try {
      const labels = await this.dependencies.classifier.classifyBatch(images);
      this.breaker.succeeded();
      this.stats.batches++;
      this.dependencies.logger.info(
        {
          batchSize: images.length,
          inferenceMs: Math.round(performance.now() - started),
          imagesInFlight: this.gate.held,
          waiting: this.batcher.waiting,
          memoryHeldMb: Math.round((this.memory.downloads.heldBytes + this.memory.decoding.heldBytes) / 2 ** 20),
        },
        'batch classified',
      );
      return labels;
    } catch (error) {
      // A fatal error reaches every job of the batch, and the policy fails the worker through them;
      // a run of ordinary failures means a broken device.
      const broken = classifyFailure(error) === 'fatal' ? undefined : this.breaker.failed(error);
      if (broken) this.fail(broken);
      throw error;
    }
  }

  /**
   * The worker cannot go on: one fatal log line naming the cause, no more receives, every held
   * message visible again at once, and {@link failed} resolved. Only the first cause counts.
   * Long polls under way are not aborted (SQS could hand them the very messages just released,
   * hiding them until their visibility timeout); they end within their wait, and what they bring
   * is released too, so {@link failed} resolves at most a long-poll wait later.
   */
  private fail(cause: Error): void {
    if (this.failure) return;
    this.failure = cause;
    const { logger } = this.dependencies;
    logger.fatal(
      { code: (cause as { code?: string }).code, err: cause, inFlightMessages: this.leases.size },
      `worker failing: ${cause.message}; its messages are released and it exits`,
    );
    const receiving = this.receiver.stop();
    this.batcher.close(cause);
    this.gate.close();
    this.memory.downloads.close();
    this.memory.decoding.close();
    void Promise.all([...this.leases].map((lease) => lease.end('release')))
      .then(() => receiving)
      .then(() => this.deleter.flush())
      .then(() => this.taskProtection.release())
      .then(() => this.resolveFailed(cause));
  }
}
