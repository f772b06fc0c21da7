import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { ConfigurationError } from '../../common/errors.js';
import { DEFAULT_PREPROCESS_OPTIONS, DEVICES } from '../../model/index.js';
import { keyLayoutProblems } from '../../pipeline/object-keys.js';
import { WORKER_DEFAULTS, WORKER_ENVIRONMENT as ENV } from '../../pipeline/worker-environment.js';

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
    [ENV.bucketName]: z.string().min(3).max(63).optional(),
    [ENV.uploadsPrefix]: textOr(WORKER_DEFAULTS.uploadsPrefix),
    [ENV.resultsPrefix]: textOr(WORKER_DEFAULTS.resultsPrefix),
    [ENV.maxBatch]: integer(1, 256, WORKER_DEFAULTS.maxBatch),
    [ENV.maxWaitMs]: integer(0, 60_000, WORKER_DEFAULTS.maxWaitMs),
    [ENV.maxImagesInFlight]: integer(1, 10_000, WORKER_DEFAULTS.maxImagesInFlight),
    [ENV.receiveConcurrency]: integer(1, 32, WORKER_DEFAULTS.receiveConcurrency),
    [ENV.receiveWaitSeconds]: integer(0, 20, WORKER_DEFAULTS.receiveWaitSeconds),
    [ENV.visibilityTimeoutSeconds]: integer(10, 43_200, WORKER_DEFAULTS.visibilityTimeoutSeconds),
    [ENV.heartbeatIntervalSeconds]: integer(1, 3_600, WORKER_DEFAULTS.heartbeatIntervalSeconds),
    [ENV.retryDelaySeconds]: integer(0, 43_200, WORKER_DEFAULTS.retryDelaySeconds),
    [ENV.shutdownGraceSeconds]: integer(0, 3_600, WORKER_DEFAULTS.shutdownGraceSeconds),
    [ENV.device]: z.enum(DEVICES, { error: `must be one of ${DEVICES.join(', ')}` }).optional().transform((v) => v ?? 'auto'),
    [ENV.modelPath]: z.string().min(1).optional(),
    [ENV.threads]: integer(1, 256, availableParallelism()),
    [ENV.topK]: integer(1, 1000, WORKER_DEFAULTS.topK),
    [ENV.maxImageBytes]: integer(1, 2 ** 31, DEFAULT_PREPROCESS_OPTIONS.maxBytes),
    [ENV.maxImagePixels]: integer(1, 2 ** 31, DEFAULT_PREPROCESS_OPTIONS.maxPixels),
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
  });

/** The worker's settings, with defaults applied. */
export interface WorkerConfig {
  /** Queue of S3 event notifications. */
  readonly queueUrl: string;
  /** Only events of this bucket are processed (any bucket when unset). */
  readonly bucketName?: string;
  /** Keys below this prefix are images to classify. Default `uploads/`. */
  readonly uploadsPrefix: string;
  /** Results are written below this prefix. Default `results/`. */
  readonly resultsPrefix: string;
  /** Images per inference run at most. Default 32. */
  readonly maxBatch: number;
  /** A batch runs this long after its first image at the latest. Default 50 ms. */
  readonly maxWaitMs: number;
  /** Images received but not yet written, at most (bounds memory). Default 96. */
  readonly maxImagesInFlight: number;
  /** ReceiveMessage calls in flight at once. Default 4. */
  readonly receiveConcurrency: number;
  /** Long-poll wait. Default 20 s. */
  readonly receiveWaitSeconds: number;
  /** Visibility the heartbeat keeps on in-flight messages. Default 60 s. */
  readonly visibilityTimeoutSeconds: number;
  /** How often the heartbeat extends visibility. Default 20 s. */
  readonly heartbeatIntervalSeconds: number;
  /** A message that failed transiently comes back after this delay. Default 5 s. */
  readonly retryDelaySeconds: number;
  /** On SIGTERM, in-flight batches get this long to finish. Default 25 s. */
  readonly shutdownGraceSeconds: number;
  readonly device: (typeof DEVICES)[number];
  readonly modelPath?: string;
  readonly threads: number;
  readonly topK: number;
  readonly maxImageBytes: number;
  readonly maxImagePixels: number;
}

/**
 * Reads and validates the worker's configuration from the environment. A missing or bad variable
 * stops start-up with a {@link ConfigurationError} whose message names every offending variable.
 */
export function loadWorkerConfig(environment: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const parsed = environmentSchema.safeParse(environment);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')} ${issue.message}`);
    throw new ConfigurationError(`invalid worker configuration: ${problems.join('; ')}`, { variables: parsed.error.issues.map((i) => i.path[0]) });
  }
  const env = parsed.data;
  return {
    queueUrl: env[ENV.queueUrl],
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
  };
}
