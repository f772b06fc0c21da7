import { availableParallelism } from 'node:os';
import { z } from 'zod';
import type { AwsTimeouts } from '../../common/aws-clients.js';
import { ConfigurationError } from '../../common/errors.js';
import { DEFAULT_PREPROCESS_OPTIONS, DEVICES, type DeviceChoice } from '../../model/index.js';
import { keyLayoutProblems } from '../../pipeline/object-keys.js';
import { LONG_POLL_MARGIN_SECONDS, WORKER_DEFAULTS, WORKER_ENVIRONMENT as ENV } from '../../pipeline/worker-environment.js';

const integer = (min: number, max: number, fallback: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`))
    .optional()
    .transform((value) => value ?? fallback);

const textOr = (fallback: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((value) => value ?? fallback);

/** The worker's environment, validated. Every field has a default except the queue URL. */
const environmentSchema = z
  .object({
    [ENV.queueUrl]: z.string({ error: 'is required (the SQS queue URL to consume)' }).url('must be a URL'),
    [ENV.deadLetterQueueUrl]: z.string().url('must be a URL').optional(),
    [ENV.bucketName]: z.string().min(3).max(63).optional(),
    [ENV.uploadsPrefix]: textOr(WORKER_DEFAULTS.uploadsPrefix),
    [ENV.resultsPrefix]: textOr(WORKER_DEFAULTS.resultsPrefix),
    [ENV.maxBatch]: integer(1, 256, WORKER_DEFAULTS.maxBatch),
    [ENV.maxWaitMs]: integer(0, 60_000, WORKER_DEFAULTS.maxWaitMs),
    [ENV.maxImagesInFlight]: integer(1, 10_000, WORKER_DEFAULTS.maxImagesInFlight),
    [ENV.receiveConcurrency]: integer(1, 32, WORKER_DEFAULTS.receiveConcurrency),
    [ENV.receiveWaitSeconds]: integer(0, 20, WORKER_DEFAULTS.receiveWaitSeconds),
    [ENV.visibilityTimeoutSeconds]: integer(5, 43_200, WORKER_DEFAULTS.visibilityTimeoutSeconds),
    [ENV.heartbeatIntervalSeconds]: integer(1, 3_600, WORKER_DEFAULTS.heartbeatIntervalSeconds),
    [ENV.retryDelaySeconds]: integer(0, 43_200, WORKER_DEFAULTS.retryDelaySeconds),
    [ENV.shutdownGraceSeconds]: integer(0, 3_600, WORKER_DEFAULTS.shutdownGraceSeconds),
    [ENV.device]: z.enum(DEVICES, { error: `must be one of ${DEVICES.join(', ')}` }).optional().transform((v) => v ?? 'auto'),
    [ENV.modelPath]: z.string().min(1).optional(),
    [ENV.threads]: integer(1, 256, availableParallelism()),
    [ENV.topK]: integer(1, 1000, WORKER_DEFAULTS.topK),
    [ENV.maxImageBytes]: integer(1, 2 ** 31, DEFAULT_PREPROCESS_OPTIONS.maxBytes),
    [ENV.maxImagePixels]: integer(1, 2 ** 31, DEFAULT_PREPROCESS_OPTIONS.maxPixels),
    [ENV.imageMemoryMiB]: integer(64, 1_048_576, WORKER_DEFAULTS.imageMemoryMiB),
    [ENV.batchTimeoutSeconds]: integer(1, 3_600, WORKER_DEFAULTS.batchTimeoutSeconds),
    [ENV.sdkConnectionTimeoutMs]: integer(100, 120_000, WORKER_DEFAULTS.sdkConnectionTimeoutMs),
    [ENV.sdkRequestTimeoutMs]: integer(1_000, 600_000, WORKER_DEFAULTS.sdkRequestTimeoutMs),
    [ENV.healthFile]: textOr(WORKER_DEFAULTS.healthFile),
    [ENV.eventBusName]: z.string().trim().regex(/^[A-Za-z0-9._\-/:]{1,1600}$/, 'must be an EventBridge bus name or ARN').optional(),
  })
  .superRefine((env, context) => {
    if (env[ENV.heartbeatIntervalSeconds] >= env[ENV.visibilityTimeoutSeconds]) {
      context.addIssue({
        code: 'custom',
        path: [ENV.heartbeatIntervalSeconds],
        message: `must be shorter than ${ENV.visibilityTimeoutSeconds} (${env[ENV.visibilityTimeoutSeconds]} s), or messages reappear while they are worked on`,
      });
    }
    for (const problem of keyLayoutProblems({ uploadsPrefix: env[ENV.uploadsPrefix], resultsPrefix: env[ENV.resultsPrefix] })) {
      context.addIssue({ code: 'custom', path: [ENV[problem.field]], message: problem.message });
    }
    const maxImageMiB = env[ENV.maxImageBytes] / 2 ** 20;
    if (maxImageMiB > env[ENV.imageMemoryMiB] / 2) {
      context.addIssue({
        code: 'custom',
        path: [ENV.imageMemoryMiB],
        message: `must be at least twice ${ENV.maxImageBytes} (${Math.ceil(maxImageMiB)} MiB): half of it holds downloads, which must fit the largest upload`,
      });
    }
  });

/** The worker's settings, with defaults applied. */
export interface WorkerConfig {
  /** Queue of S3 event notifications. Required. */
  readonly queueUrl: string;
  /** Where a message that is not an S3 event goes at once. Default: none (the redrive policy moves it after its receives). */
  readonly deadLetterQueueUrl?: string;
  /** Only events of this bucket are processed. Default: any bucket. */
  readonly bucketName?: string;
  /** Keys below this prefix are images to classify. Default `uploads/`. */
  readonly uploadsPrefix: string;
  /** Results are written below this prefix. Default `results/`. */
  readonly resultsPrefix: string;
  /** Images per inference run at most. Default 32. */
  readonly maxBatch: number;
  /** A batch runs this long after its first image at the latest. Default 50 ms. */
  readonly maxWaitMs: number;
  /** Images received but not yet stored, at most; receives ask for no more than what is free. Default 96. */
  readonly maxImagesInFlight: number;
  /** ReceiveMessage calls in flight at once. Default 4. */
  readonly receiveConcurrency: number;
  /** Long-poll wait. Default 20 s. */
  readonly receiveWaitSeconds: number;
  /** Visibility the heartbeat keeps on in-flight messages. Default 60 s. */
  readonly visibilityTimeoutSeconds: number;
  /** How often each lease extends its message's visibility. Default 20 s. */
  readonly heartbeatIntervalSeconds: number;
  /** A message that failed transiently comes back after this delay. Default 5 s. */
  readonly retryDelaySeconds: number;
  /** On SIGTERM, in-flight batches get this long to finish. Default 25 s. */
  readonly shutdownGraceSeconds: number;
  /** Where inference runs. Default `auto`. */
  readonly device: DeviceChoice;
  /** The ONNX model. Default: `model/alexnet.onnx`, else the dev model. */
  readonly modelPath?: string;
  /** CPU threads of one inference. Default: the available cores. */
  readonly threads: number;
  /** Labels per image. Default 5. */
  readonly topK: number;
  /** Largest accepted upload, bytes. Default 50 MiB. */
  readonly maxImageBytes: number;
  /** Largest accepted image, pixels. Default 100 megapixels. */
  readonly maxImagePixels: number;
  /** Bytes of downloads and decoding working memory held at once, at most. Default 1 GiB. */
  readonly imageMemoryBytes: number;
  /** A batch that has not finished after this long is a stuck inference: the worker exits. Default 60 s. */
  readonly batchTimeoutSeconds: number;
  /** S3 and SQS: time to connect. Default 3 s. */
  readonly sdkConnectionTimeoutMs: number;
  /** S3 and SQS: time to the response headers, and the longest silence of a socket. Default 15 s (long polls: their wait plus 5 s). */
  readonly sdkRequestTimeoutMs: number;
  /** The file the event loop touches for the container health check. Default `/tmp/alexnet-worker.alive`. */
  readonly healthFile: string;
  /** The EventBridge bus that gets an event per stored result. Default: none (no events). */
  readonly eventBusName?: string;
}

/**
 * Reads and validates the worker's configuration from the environment. A missing or bad variable
 * stops start-up with a {@link ConfigurationError} whose message names every offending variable.
 */
export function loadWorkerConfig(environment: NodeJS.ProcessEnv = process.env): WorkerConfig {
  // An empty variable (`BUCKET_NAME=`, as task definitions and shells leave them) counts as unset.
  const given = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = environmentSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')} ${issue.message}`);
    throw new ConfigurationError(`invalid worker configuration: ${problems.join('; ')}`, { variables: parsed.error.issues.map((i) => i.path[0]) });
  }
  const env = parsed.data;
  return {
    queueUrl: env[ENV.queueUrl],
    deadLetterQueueUrl: env[ENV.deadLetterQueueUrl],
    bucketName: env[ENV.bucketName],
    uploadsPrefix: env[ENV.uploadsPrefix],
    resultsPrefix: env[ENV.resultsPrefix],
    maxBatch: env[ENV.maxBatch],
    maxWaitMs: env[ENV.maxWaitMs],
    maxImagesInFlight: env[ENV.maxImagesInFlight],
    receiveConcurrency: env[ENV.receiveConcurrency],
    receiveWaitSeconds: env[ENV.receiveWaitSeconds],
    visibilityTimeoutSeconds: env[ENV.visibilityTimeoutSeconds],
    heartbeatIntervalSeconds: env[ENV.heartbeatIntervalSeconds],
    retryDelaySeconds: env[ENV.retryDelaySeconds],
    shutdownGraceSeconds: env[ENV.shutdownGraceSeconds],
    device: env[ENV.device],
    modelPath: env[ENV.modelPath],
    threads: env[ENV.threads],
    topK: env[ENV.topK],
    maxImageBytes: env[ENV.maxImageBytes],
    maxImagePixels: env[ENV.maxImagePixels],
    imageMemoryBytes: env[ENV.imageMemoryMiB] * 2 ** 20,
    batchTimeoutSeconds: env[ENV.batchTimeoutSeconds],
    sdkConnectionTimeoutMs: env[ENV.sdkConnectionTimeoutMs],
    sdkRequestTimeoutMs: env[ENV.sdkRequestTimeoutMs],
    healthFile: env[ENV.healthFile],
    eventBusName: env[ENV.eventBusName],
  };
}

/**
 * The S3 and SQS timeouts the configuration asks for. SQS connections stay silent for a long
 * poll's whole wait, so their idle limit is at least the wait plus the margin; each long poll
 * passes that as its own request timeout.
 */
export function workerClientTimeouts(config: WorkerConfig): { s3: AwsTimeouts; sqs: AwsTimeouts } {
  const connectionMs = config.sdkConnectionTimeoutMs;
  const requestMs = config.sdkRequestTimeoutMs;
  const longPollMs = (config.receiveWaitSeconds + LONG_POLL_MARGIN_SECONDS) * 1000;
  return {
    s3: { connectionMs, requestMs, socketIdleMs: requestMs },
    sqs: { connectionMs, requestMs, socketIdleMs: Math.max(requestMs, longPollMs) },
  };
}
