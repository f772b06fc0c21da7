#!/usr/bin/env node
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { createEventBridgeClient } from '../../common/eventbridge-client.js';
import { ConfigurationError } from '../../common/errors.js';
import { createLogger, logProcessWarnings } from '../../common/logger.js';
import { configureImageDecoding, ImageClassifier } from '../../model/index.js';
import { loadWorkerConfig, workerClientTimeouts } from './config.js';
import { keepHealthFileFresh } from './health-file.js';
import { QueueConsumer } from './queue-consumer.js';

/** Exit status after a fatal failure (its messages were released first): ECS replaces the task. */
const EXIT_FATAL = 1;

/**
 * The container task's entry point: configuration from the environment, the AWS clients from the
 * standard chain (`AWS_REGION`, `AWS_ENDPOINT_URL*`, task role) with timeouts, the model loaded
 * once, then the queue consumer until SIGTERM or SIGINT (drain, exit 0) or a fatal failure
 * (release, exit 1). The event loop keeps the health file fresh for the container health check.
 *
 * The signal handlers are in place before the model loads: a task stopped while it is still
 * starting (a scale-in right after a scale-out) holds no message, so it exits 0 at once rather than
 * dying by the signal.
 */
const logger = createLogger('worker');
// Its logs are JSON lines only: a Node.js warning (the AWS SDK's notice about Node.js 20, say) is one too.
logProcessWarnings(logger);
let shutDown: (signal: string) => Promise<void> = async (signal) => {
  logger.info({ signal }, 'shutdown requested while starting: nothing is in flight');
  process.exit(0);
};
process.once('SIGTERM', () => void shutDown('SIGTERM'));
process.once('SIGINT', () => void shutDown('SIGINT'));
logger.info({ pid: process.pid }, 'worker starting');
try {
  const config = loadWorkerConfig();
  configureImageDecoding();
  const classifier = await ImageClassifier.load(
    {
      modelPath: config.modelPath,
      device: config.device,
      precision: config.precision,
      threads: config.threads,
      maxBatchSize: config.maxBatch,
      topK: config.topK,
      batchTimeoutMs: config.batchTimeoutSeconds * 1000,
    },
    logger,
  );
  const timeouts = workerClientTimeouts(config);
  const consumer = new QueueConsumer(config, {
    s3: createS3Client({ timeouts: timeouts.s3 }),
    sqs: createSqsClient({ timeouts: timeouts.sqs }),
    classifier,
    logger,
    events: config.eventBusName ? createEventBridgeClient({ timeouts: timeouts.s3 }) : undefined,
    dynamo: async () =>
      (await import('../../common/dynamodb-client.js')).createDynamoDbClient({ timeouts: timeouts.s3 }),
  });
  const stopHealthFile = keepHealthFileFresh(config.healthFile, logger);
  shutDown = async (signal) => {
    logger.info({ signal }, 'shutdown requested');
    await consumer.stop();
    stopHealthFile();
    await classifier.dispose();
    process.exit(0);
  };
  void consumer.failed.then(() => {
    stopHealthFile();
    process.exit(EXIT_FATAL);
  });
  consumer.start();
} catch (error) {
  if (error instanceof ConfigurationError) logger.fatal({ code: error.code }, error.message);
  else logger.fatal({ code: (error as { code?: string }).code, err: error }, 'worker failed to start');
  process.exit(EXIT_FATAL);
}
