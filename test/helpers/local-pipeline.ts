import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { createDynamoDbClient } from '../../common/dynamodb-client.js';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from '../../common/logger.js';
import { objectCreatedEvent } from '../../local/s3-notification.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { readResult } from '../../cli/results/bucket-reader.js';
import { listKeys } from '../../pipeline/s3-operations.js';
import { deleteVisibleMessages, queueDepth } from '../../pipeline/sqs-operations.js';
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { silentLogger } from '../../common/logger.js';
import { resolveWorkerConfig, type WorkerConfig } from '../../functions/worker/config.js';
import { workerEnvironmentFor, type WorkerSettingOverrides } from '../../pipeline/worker-settings.js';
import { QueueConsumer } from '../../functions/worker/queue-consumer.js';
import { LocalAws, type LocalAwsOptions } from '../../local/local-aws.js';
import type { BatchClassifier } from '../../model/index.js';

/** Worker settings that keep integration tests quick: short polls, short visibility, no retry delay. */
export const FAST_WORKER_SETTINGS = {
  receiveWaitSeconds: 1,
  visibilityTimeoutSeconds: 10,
  heartbeatIntervalSeconds: 3,
  retryDelaySeconds: 0,
  shutdownGraceSeconds: 10,
  maxWaitMs: 50,
} as const satisfies WorkerSettingOverrides;

/** The same, as the environment of a worker process. */
export const FAST_WORKER_ENVIRONMENT = workerEnvironmentFor(FAST_WORKER_SETTINGS);

/** The embedded emulator with real SDK clients pointed at it, and helpers the tests share. */
export class LocalPipeline {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly dynamo: DynamoDBClient;

  private constructor(readonly aws: LocalAws) {
    this.s3 = createS3Client(aws.clientOptions());
    this.sqs = createSqsClient(aws.clientOptions());
    this.dynamo = createDynamoDbClient(aws.clientOptions());
  }

  static async start(options: LocalAwsOptions = {}): Promise<LocalPipeline> {
    return new LocalPipeline(await LocalAws.start(options));
  }

  workerConfig(overrides: WorkerSettingOverrides = {}): WorkerConfig {
    return resolveWorkerConfig({
      queueUrl: this.aws.queueUrl,
      deadLetterQueueUrl: this.aws.dlqUrl,
      maxReceiveCount: this.aws.maxReceiveCount,
      bucketName: this.aws.bucket,
      ...(this.aws.sourceBuckets.length > 0 ? { sourceBuckets: this.aws.sourceBuckets.join(',') } : {}),
      ...FAST_WORKER_SETTINGS,
      ...overrides,
    });
  }

  /** A worker in this process; tests may give it their own clients (to make S3 fail fast, or to record calls). */
  startWorker(
    classifier: BatchClassifier,
    overrides: WorkerSettingOverrides = {},
    clients: { s3?: S3Client; sqs?: SQSClient; logger?: Logger; events?: EventBridgeClient } = {},
  ): QueueConsumer {
    const worker = new QueueConsumer(this.workerConfig(overrides), {
      s3: clients.s3 ?? this.s3,
      sqs: clients.sqs ?? this.sqs,
      classifier,
      logger: clients.logger ?? silentLogger,
      events: clients.events,
      dynamo: async () => this.dynamo,
    });
    worker.start();
    return worker;
  }

  /** Sends the S3 event of an object, as S3 would (for redeliveries and events in another order). */
  async sendEventFor(key: string, eTag: string, size: number, queueUrl = this.aws.queueUrl): Promise<void> {
    const rule = { id: 'test', bucket: this.aws.bucket, prefix: '', suffixes: [''] };
    await this.sendMessage(
      objectCreatedEvent({ rule, region: this.aws.region, eventName: 'ObjectCreated:Put', key, size, eTag }),
      queueUrl,
    );
  }

  /** The object's current ETag (unquoted) and size. */
  async head(key: string): Promise<{ etag: string; size: number }> {
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.aws.bucket, Key: key }));
    return { etag: (head.ETag ?? '').replace(/"/g, ''), size: head.ContentLength ?? 0 };
  }

  /** Receives and deletes everything queued (the notifications of uploads a test wants to replay itself). */
  async drainQueue(): Promise<void> {
    await this.aws.notificationsDelivered();
    await deleteVisibleMessages(this.sqs, this.aws.queueUrl);
  }

  /** Uploads as a client would: one PUT, or a multipart upload above 8 MiB (the emulator takes PUTs of 11 MiB at most). */
  async upload(key: string, body: Uint8Array | string): Promise<void> {
    if (body.length <= 8 * 2 ** 20)
      await this.s3.send(new PutObjectCommand({ Bucket: this.aws.bucket, Key: key, Body: body }));
    else
      await new Upload({
        client: this.s3,
        params: { Bucket: this.aws.bucket, Key: key, Body: body },
        partSize: 8 * 2 ** 20,
      }).done();
  }

  /** Takes the next S3 event with records off a queue (waiting up to 5 s for one; test events are dropped): its body, the message deleted. */
  async takeEvent(queueUrl = this.aws.queueUrl): Promise<string> {
    await this.aws.notificationsDelivered();
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 5 }),
      );
      const message = Messages[0];
      if (!message?.Body) throw new Error(`no event on ${queueUrl}`);
      await this.sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      if (message.Body.includes('"Records"')) return message.Body;
    }
  }

  /** Another queue on the emulator (to give one worker messages another does not see). */
  async createQueue(name: string): Promise<string> {
    return (await this.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { VisibilityTimeout: '10' } })))
      .QueueUrl!;
  }

  async sendMessage(body: string, queueUrl = this.aws.queueUrl): Promise<void> {
    await this.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  }

  async readJson(key: string): Promise<Record<string, any>> {
    const document = await readResult(this.s3, this.aws.bucket, key);
    if (!document) throw new Error(`${key} does not exist`);
    return document;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.aws.bucket, Key: key }));
      return true;
    } catch {
      return false;
    }
  }

  async lastModified(key: string): Promise<Date | undefined> {
    return (await this.s3.send(new HeadObjectCommand({ Bucket: this.aws.bucket, Key: key }))).LastModified;
  }

  listKeys(prefix: string): Promise<string[]> {
    return listKeys(this.s3, this.aws.bucket, prefix);
  }

  /** Visible and in-flight messages of a queue (the main queue by default). */
  depth(queueUrl = this.aws.queueUrl): Promise<{ visible: number; inFlight: number }> {
    return queueDepth(this.sqs, queueUrl);
  }

  /** True when the main queue holds no message, visible or in flight. */
  async queueIsEmpty(): Promise<boolean> {
    const depth = await this.depth();
    return depth.visible === 0 && depth.inFlight === 0;
  }

  /** Polls until `condition` holds, or fails after `timeoutMs` with `what` in the message. */
  async waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(100);
    }
  }

  async waitForKeys(keys: readonly string[], timeoutMs = 30_000): Promise<void> {
    await this.waitFor(
      `${keys.length} results`,
      async () => (await Promise.all(keys.map((key) => this.exists(key)))).every(Boolean),
      timeoutMs,
    );
  }

  async stop(): Promise<void> {
    this.s3.destroy();
    this.sqs.destroy();
    this.dynamo.destroy();
    await this.aws.stop();
  }
}
