import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { createS3Client, createSqsClient, type AwsClientOptions } from '../common/aws-clients.js';
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { PARAMETER_DEFAULTS } from '../pipeline/deploy-parameters.js';
import { WORKER_SETTINGS, workerEnvironmentFor } from '../pipeline/worker-settings.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KeyLocks } from './key-locks.js';
import { orderedS3Stores } from './ordered-s3-store.js';
import { isDynamoDbRequest } from './dynamodb/dynamodb-requests.js';
import type { LocalDynamoDb } from './dynamodb/local-dynamodb.js';
import { nextSequencer, objectCreatedEvent, ruleMatches, testEvent, type NotificationRule } from './s3-notification.js';
import {
  createdEventName,
  encodeListedKeys,
  hasWriteCondition,
  objectWriteOf,
  parseS3Path,
  requestAccessKeyId,
  unsupportedObjectWrite,
  wantsUrlEncodedKeys,
  writeConditionRefusal,
  type ObjectCreatedEventName,
} from './s3-requests.js';

/** An injected failure: the HTTP status to answer instead of serving the request. */
export type FaultInjector = (request: { method: string; bucket?: string; key?: string }) => number | undefined;

/** Options of {@link LocalAws.start}. Every field has a default. */
export interface LocalAwsOptions {
  /** Port on 127.0.0.1; 0 picks a free one. Default: 0. */
  readonly port?: number;
  /** Default: `us-east-1`. */
  readonly region?: string;
  /** Default: `alexnet-pipeline-local`. */
  readonly bucket?: string;
  /** Default: `alexnet-pipeline-jobs`; its DLQ is `<name>-dlq`. */
  readonly queueName?: string;
  /** Receives before a message moves to the DLQ. Default: 3. */
  readonly maxReceiveCount?: number;
  /** Queue visibility timeout. Default: the worker's (60 s). */
  readonly visibilityTimeoutSeconds?: number;
  /** Notifications are sent for image keys below this prefix. Default: `uploads/`. */
  readonly uploadsPrefix?: string;
  /**
   * The longest one write may hold its key (from its precondition check to its notification's read
   * of the new ETag): a client that stops sending mid-body does not block the key's other writers
   * for longer. Default: 60 s.
   */
  readonly writeLockMs?: number;
  /** The DynamoDB table of jobs. Default: `alexnet-pipeline-job-state`. */
  readonly jobsTable?: string;
  /**
   * Other buckets made in the emulator, whose images jobs may name, as `-c sourceBuckets` names
   * them to a deployed stack (no notifications). Default: none.
   */
  readonly sourceBuckets?: readonly string[];
  /** Test hook: answer some requests with an error status instead of serving them. Default: none. */
  readonly faultInjector?: FaultInjector;
  /**
   * The only credentials the emulator accepts: `random` makes a new pair for this run (what
   * `local` uses, so another local user cannot read or write the bucket). Default: the fixed
   * `local`/`local` pair, for in-process tests.
   */
  readonly credentials?: LocalCredentials | 'random';
  readonly logger?: Logger;
}

/** An emulator's endpoint, region, bucket, queues, jobs table and credentials. */
export interface LocalConnection {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly jobsTable: string;
  /** Other buckets whose images jobs may name (`sourceBuckets`). */
  readonly sourceBuckets: readonly string[];
  readonly credentials: LocalCredentials;
}

/** Credentials of an emulator; the emulator is the only thing that reads them. */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Receives before a message moves to the DLQ, as the stack's default. */
const DEFAULT_MAX_RECEIVE_COUNT = PARAMETER_DEFAULTS.maxReceiveCount;

/** The fixed credentials of an emulator started without its own. */
const DEFAULT_LOCAL_CREDENTIALS: LocalCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A new access key pair for one run of the emulator. */
function randomCredentials(): LocalCredentials {
  return {
    accessKeyId: `ALEXLOCAL${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
}

/** An error answer in the protocol of the request: DynamoDB's or SQS's JSON, or S3's XML. */
function errorReply(
  headers: Readonly<Record<string, unknown>>,
  status: number,
  code: string,
  message: string,
): { type: string; body: string; status: number } {
  const target = headers['x-amz-target'];
  if (typeof target === 'string' && target.startsWith('DynamoDB_'))
    return {
      // DynamoDB answers a key it does not know with 400, whatever else was wrong.
      status: status === 403 ? 400 : status,
      type: 'application/x-amz-json-1.0',
      body: JSON.stringify({
        __type: `com.amazonaws.dynamodb.v20120810#${status === 403 ? 'UnrecognizedClientException' : code}`,
        message,
      }),
    };
  if (target)
    return {
      status,
      type: 'application/x-amz-json-1.0',
      body: JSON.stringify({ __type: `com.amazonaws.sqs#${code}`, message }),
    };
  return {
    status,
    type: 'application/xml',
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  };
}

/** What the request guard needs: this run's credentials, the options, and the write locks. */
interface RequestGuard {
  readonly credentials: LocalCredentials;
  readonly options: LocalAwsOptions;
  readonly writeLocks: KeyLocks;
  readonly heldWriteLocks: WeakMap<FastifyRequest, () => void>;
  readonly clients: () => { s3: S3Client; sqs: SQSClient; queueUrl: string } | undefined;
}

/**
 * Before the emulator sees a request: only this run's access key gets in (the emulator checks the
 * key id, it does not verify signatures), writes the emulator would get wrong are refused, the
 * fault injector of a test may answer instead, and a write takes its key's lock (and is refused as
 * S3 refuses it when its condition does not hold).
 */
async function guardRequest(request: FastifyRequest, reply: FastifyReply, guard: RequestGuard): Promise<void> {
  const refuse = async (status: number, code: string, message: string) => {
    const answer = errorReply(request.headers, status, code, message);
    await reply.code(answer.status).header('content-type', answer.type).send(answer.body);
  };
  const accessKeyId = requestAccessKeyId(request.headers, request.url);
  if (accessKeyId !== guard.credentials.accessKeyId) {
    return refuse(
      403,
      'InvalidAccessKeyId',
      accessKeyId
        ? `The access key ${accessKeyId} is not this local pipeline's: use the credentials \`local --serve\` printed`
        : 'This local pipeline takes signed requests only: use the credentials `local --serve` printed',
    );
  }
  const unsupported = unsupportedObjectWrite(request.method, request.url);
  if (unsupported)
    return refuse(
      501,
      'NotImplemented',
      `${unsupported} is not supported by the local emulator (it would overwrite the object); only PutObject, CopyObject and multipart uploads write objects here`,
    );
  const status = guard.options.faultInjector?.({ method: request.method, ...parseS3Path(request.url) });
  if (status !== undefined) return refuse(status, 'ServiceUnavailable', 'fault injected by the local emulator');
  const write = objectWriteOf(request.method, request.url);
  const clients = guard.clients();
  if (write && clients) {
    const release = await guard.writeLocks.acquire(`${write.bucket}/${write.key}`);
    // A request that never reaches its response (a client gone mid-body) must not hold the key for ever.
    const expiry = setTimeout(release, guard.options.writeLockMs ?? 60_000).unref();
    guard.heldWriteLocks.set(request, () => {
      clearTimeout(expiry);
      release();
    });
    if (hasWriteCondition(request.headers)) {
      const refusal = writeConditionRefusal(request.headers, await currentEtag(clients.s3, write.bucket, write.key));
      if (refusal) return refuse(refusal.status, refusal.code, refusal.message);
    }
  }
}

/** The bucket, the queue with its dead-letter queue and redrive policy, as the stack creates them. */
async function provisionPipeline(
  s3: S3Client,
  sqs: SQSClient,
  bucket: string,
  queueName: string,
  options: LocalAwsOptions,
): Promise<{ queueUrl: string; dlqUrl: string }> {
  for (const name of [bucket, ...(options.sourceBuckets ?? [])])
    await s3.send(new CreateBucketCommand({ Bucket: name }));
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${queueName}-dlq`,
      Attributes: { MessageRetentionPeriod: String(14 * 24 * 3600) },
    }),
  );
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: queueName,
      Attributes: {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? WORKER_SETTINGS.visibilityTimeoutSeconds.default),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
        }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

/**
 * Embedded S3 and SQS (fauxqs) on loopback, with the bucket, the queue and its dead-letter queue,
 * and what S3 does that fauxqs does not: S3 → SQS ObjectCreated notifications in AWS's format (the
 * key URL-encoded, a sequencer that grows with each write to a key), and conditional writes —
 * `If-None-Match: *` and `If-Match` on PutObject, CopyObject and CompleteMultipartUpload, answered
 * 412 (or 404) as S3 answers them, with the compare and the write one step: the writes to one key
 * take turns from the precondition check to the notification's read of the new ETag, and
 * listings in S3's key order, a page found without sorting the bucket (ordered-s3-store.ts).
 */
export class LocalAws {
  private constructor(
    private readonly app: ReturnType<typeof buildApp>,
    readonly endpoint: string,
    readonly region: string,
    readonly bucket: string,
    readonly queueUrl: string,
    readonly dlqUrl: string,
    /** The DynamoDB table of jobs, on the same endpoint. */
    readonly jobsTable: string,
    readonly credentials: LocalCredentials,
    private readonly pendingNotifications: Set<Promise<void>>,
    private readonly notifier: { s3: S3Client; sqs: SQSClient },
    private readonly dynamo: LazyDynamoDb,
    /** Other buckets whose images jobs may name. */
    readonly sourceBuckets: readonly string[],
    /** Receives before the queue moves a message to the DLQ. */
    readonly maxReceiveCount: number,
  ) {}

  static async start(options: LocalAwsOptions = {}): Promise<LocalAws> {
    const region = options.region ?? 'us-east-1';
    const bucket = options.bucket ?? 'alexnet-pipeline-local';
    const queueName = options.queueName ?? 'alexnet-pipeline-jobs';
    const logger = options.logger ?? silentLogger;
    const app = buildApp({ logger: false, defaultRegion: region, stores: await orderedS3Stores() });
    const credentials =
      options.credentials === 'random' ? randomCredentials() : (options.credentials ?? DEFAULT_LOCAL_CREDENTIALS);
    // As the stack configures S3: every object created below the uploads prefix (see PipelineStorage).
    const rule: NotificationRule = {
      id: 'alexnet-uploads',
      bucket,
      prefix: options.uploadsPrefix ?? WORKER_SETTINGS.uploadsPrefix.default,
      suffixes: [''],
    };
    const pendingNotifications = new Set<Promise<void>>();
    let clients: { s3: S3Client; sqs: SQSClient; queueUrl: string } | undefined;
    const writeLocks = new KeyLocks();
    const heldWriteLocks = new WeakMap<FastifyRequest, () => void>();
    const releaseWriteLock = (request: FastifyRequest) => heldWriteLocks.get(request)?.();

    // Before the emulator sees a request: only this run's access key gets in (the emulator checks
    // the key id, it does not verify signatures), writes the emulator would get wrong are refused,
    // and the fault injector of a test may answer instead.
    const guard = { credentials, options, writeLocks, heldWriteLocks, clients: () => clients };
    const jobsTable = options.jobsTable ?? 'alexnet-pipeline-job-state';
    // The embedded DynamoDB starts with the first DynamoDB request (most runs never make one).
    const dynamo = new LazyDynamoDb(jobsTable);
    app.addHook('onRequest', async (request, reply) => {
      await guardRequest(request, reply, guard);
      // DynamoDB's requests (the job state) go to the embedded DynamoDB: one endpoint for all three.
      if (!reply.sent && isDynamoDbRequest(request.headers)) {
        reply.hijack();
        await (await dynamo.started()).handle(request.raw, reply.raw);
      }
    });
    app.addHook('onRequestAbort', async (request) => releaseWriteLock(request));
    // fauxqs answers a HEAD for a missing key without Content-Length, which makes Node close the
    // connection after every such answer; S3 sends the header and keeps the connection open. And
    // it ignores encoding-type=url on lists, which S3 honours; keys with a carriage return need it.
    app.addHook('onSend', (request, reply, payload, done) => {
      if (request.method === 'HEAD' && !reply.hasHeader('content-length')) reply.header('content-length', '0');
      if (typeof payload === 'string' && reply.statusCode === 200 && wantsUrlEncodedKeys(request.method, request.url))
        return done(null, encodeListedKeys(payload));
      done(null, payload);
    });
    // After a write: its notification, with the sequencer and ETag of this write — taken while the
    // key's lock is still held, so that a later write to the key has a later sequencer and cannot
    // lend this event its ETag.
    app.addHook('onResponse', (request, reply, done) => {
      done();
      const eventName = createdEventName(request.method, request.url, reply.statusCode, request.headers);
      const target = parseS3Path(request.url);
      if (!eventName || !clients || !target.bucket || !target.key || !ruleMatches(rule, target.bucket, target.key)) {
        releaseWriteLock(request);
        return;
      }
      const delivery = deliverNotification(clients, rule, region, eventName, target.key, () =>
        releaseWriteLock(request),
      ).catch((error: unknown) =>
        logger.error({ err: error, key: target.key }, 'S3 notification could not be delivered'),
      );
      pendingNotifications.add(delivery);
      void delivery.finally(() => pendingNotifications.delete(delivery));
    });

    await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
    const { port } = app.server.address() as AddressInfo;
    const endpoint = `http://127.0.0.1:${port}`;
    const clientOptions: AwsClientOptions = { endpoint, region, credentials };
    const s3 = createS3Client(clientOptions);
    const sqs = createSqsClient(clientOptions);

    const { queueUrl, dlqUrl } = await provisionPipeline(s3, sqs, bucket, queueName, options);
    clients = { s3, sqs, queueUrl };
    // Saving a notification configuration makes S3 send a test event to the queue.
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: testEvent(bucket) }));
    logger.info({ endpoint, bucket, queueUrl, dlqUrl }, 'embedded S3 and SQS listening on loopback');
    return new LocalAws(
      app,
      endpoint,
      region,
      bucket,
      queueUrl,
      dlqUrl,
      jobsTable,
      credentials,
      pendingNotifications,
      { s3, sqs },
      dynamo,
      options.sourceBuckets ?? [],
      options.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT,
    );
  }

  /** Options for clients of this emulator (endpoint, region, its credentials). */
  clientOptions(overrides: Partial<AwsClientOptions> = {}): AwsClientOptions {
    return { endpoint: this.endpoint, region: this.region, credentials: this.credentials, ...overrides };
  }

  /** Where everything of this emulator is, and its credentials: what `--local` commands connect with. */
  connection(): LocalConnection {
    const { endpoint, region, bucket, queueUrl, dlqUrl, jobsTable, sourceBuckets, credentials } = this;
    return { endpoint, region, bucket, queueUrl, dlqUrl, jobsTable, sourceBuckets, credentials };
  }

  /** The environment a second terminal (or the worker) needs to use this emulator. */
  environment(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.endpoint,
      AWS_REGION: this.region,
      AWS_ACCESS_KEY_ID: this.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.credentials.secretAccessKey,
      ...workerEnvironmentFor({
        bucketName: this.bucket,
        queueUrl: this.queueUrl,
        deadLetterQueueUrl: this.dlqUrl,
        maxReceiveCount: this.maxReceiveCount,
        jobsTable: this.jobsTable,
        ...(this.sourceBuckets.length > 0 ? { sourceBuckets: this.sourceBuckets.join(',') } : {}),
      }),
    };
  }

  /** Resolves once every notification for uploads so far has been queued. */
  async notificationsDelivered(): Promise<void> {
    while (this.pendingNotifications.size > 0) await Promise.all([...this.pendingNotifications]);
  }

  async stop(): Promise<void> {
    await this.notificationsDelivered();
    this.notifier.s3.destroy();
    this.notifier.sqs.destroy();
    await this.app.close();
    await this.dynamo.stop();
  }
}

/**
 * The notification of a write: its ETag and size read back and its sequencer taken while the key's
 * lock is still held (`releaseLock` is called once they are), then the event sent to the queue.
 */
async function deliverNotification(
  clients: { s3: S3Client; sqs: SQSClient; queueUrl: string },
  rule: NotificationRule,
  region: string,
  eventName: ObjectCreatedEventName,
  key: string,
  releaseLock: () => void,
): Promise<void> {
  let body: string;
  try {
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: rule.bucket, Key: key }));
    body = objectCreatedEvent({
      rule,
      region,
      eventName,
      key,
      size: head.ContentLength ?? 0,
      eTag: head.ETag ?? '',
      sequencer: nextSequencer(),
    });
  } finally {
    releaseLock();
  }
  await clients.sqs.send(new SendMessageCommand({ QueueUrl: clients.queueUrl, MessageBody: body }));
}

/** An object's current ETag (unquoted), or undefined when there is none. */
async function currentEtag(s3: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    return (await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag?.replace(/"/g, '');
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw error;
  }
}

/** The embedded DynamoDB, loaded and started on first use (dynalite and the DynamoDB SDK cost ~200 ms to load). */
class LazyDynamoDb {
  private starting: Promise<LocalDynamoDb> | undefined;

  constructor(private readonly tableName: string) {}

  started(): Promise<LocalDynamoDb> {
    this.starting ??= import('./dynamodb/local-dynamodb.js').then(({ LocalDynamoDb }) =>
      LocalDynamoDb.start(this.tableName),
    );
    return this.starting;
  }

  async stop(): Promise<void> {
    if (this.starting) await (await this.starting).stop();
  }
}
