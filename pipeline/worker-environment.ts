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
  imageMemoryMiB: 'IMAGE_MEMORY_MIB',
  batchTimeoutSeconds: 'BATCH_TIMEOUT_SECONDS',
  deadLetterQueueUrl: 'DLQ_URL',
  sdkConnectionTimeoutMs: 'SDK_CONNECTION_TIMEOUT_MS',
  sdkRequestTimeoutMs: 'SDK_REQUEST_TIMEOUT_MS',
  healthFile: 'HEALTH_FILE',
  eventBusName: 'EVENT_BUS_NAME',
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
  imageMemoryMiB: 1024,
  batchTimeoutSeconds: 60,
  sdkConnectionTimeoutMs: 3_000,
  sdkRequestTimeoutMs: 15_000,
  /** Touched every {@link HEALTH_FILE_TOUCH_SECONDS} by the event loop; the container health check reads its age. */
  healthFile: '/tmp/alexnet-worker.alive',
} as const;

/** How often the worker's event loop touches its health file. */
export const HEALTH_FILE_TOUCH_SECONDS = 5;

/** The health file is stale, and the container unhealthy, after this long without a touch. */
export const HEALTH_FILE_STALE_SECONDS = 30;

/** The message attribute a message the worker sends to the DLQ itself carries: the id it had in the queue. */
export const ORIGINAL_MESSAGE_ID_ATTRIBUTE = 'alexnet-original-message-id';

/** A long poll's HTTP request may take its wait plus this long before it is abandoned. */
export const LONG_POLL_MARGIN_SECONDS = 5;
