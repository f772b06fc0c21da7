/**
 * Names shared by the worker, the local emulation, the CLI and the CDK stack: the worker's
 * environment variables and their defaults. The stack reads these names only, so the two cannot
 * drift apart.
 */
export const WORKER_ENVIRONMENT = {
  bucketName: 'BUCKET_NAME',
  queueUrl: 'QUEUE_URL',
  uploadsPrefix: 'UPLOADS_PREFIX',
  resultsPrefix: 'RESULTS_PREFIX',
  maxBatch: 'MAX_BATCH',
  maxWaitMs: 'MAX_WAIT_MS',
  maxImagesInFlight: 'MAX_IMAGES_IN_FLIGHT',
  receiveConcurrency: 'RECEIVE_CONCURRENCY',
  receiveWaitSeconds: 'RECEIVE_WAIT_SECONDS',
  visibilityTimeoutSeconds: 'VISIBILITY_TIMEOUT_SECONDS',
  heartbeatIntervalSeconds: 'HEARTBEAT_INTERVAL_SECONDS',
  retryDelaySeconds: 'RETRY_DELAY_SECONDS',
  shutdownGraceSeconds: 'SHUTDOWN_GRACE_SECONDS',
  device: 'DEVICE',
  modelPath: 'MODEL_PATH',
  threads: 'INFERENCE_THREADS',
  topK: 'TOP_K',
  maxImageBytes: 'MAX_IMAGE_BYTES',
  maxImagePixels: 'MAX_IMAGE_PIXELS',
} as const;

/** Defaults of the worker's settings; the CDK stack derives its queue timeouts from them. */
export const WORKER_DEFAULTS = {
  uploadsPrefix: 'uploads/',
  resultsPrefix: 'results/',
  maxBatch: 32,
  maxWaitMs: 50,
  maxImagesInFlight: 96,
  receiveConcurrency: 4,
  receiveWaitSeconds: 20,
  visibilityTimeoutSeconds: 60,
  heartbeatIntervalSeconds: 20,
  retryDelaySeconds: 5,
  shutdownGraceSeconds: 25,
  topK: 5,
} as const;

/** The dead-letter queue's URL for the CLI (`status`, `redrive`); the worker never reads it. */
export const DEAD_LETTER_QUEUE_URL_VARIABLE = 'DLQ_URL';
