#!/usr/bin/env node
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { createEventBridgeClient } from '../../common/eventbridge-client.js';
import { ConfigurationError } from '../../common/errors.js';
import { createLogger } from '../../common/logger.js';
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
 */
const logger = createLogger('worker');
try {
  const config = loadWorkerConfig();
  configureImageDecoding();
  const classifier = await ImageClassifier.load(
    { modelPath: config.modelPath, device: config.device, threads: config.threads, maxBatchSize: config.maxBatch, topK: config.topK, batchTimeoutMs: config.batchTimeoutSeconds * 1000 },
    logger,
  );
  const timeouts = workerClientTimeouts(config);
  const consumer = new QueueConsumer(config, {
    s3: createS3Client({ timeouts: timeouts.s3 }),
    sqs: createSqsClient({ timeouts: timeouts.sqs }),
    classifier,
    logger,
    events: config.eventBusName ? createEventBridgeClient({ timeouts: timeouts.s3 }) : undefined,
  });
  const stopHealthFile = keepHealthFileFresh(config.healthFile, logger);
  const shutDown = async (signal: string) => {
    logger.info({ signal }, 'shutdown requested');
    await consumer.stop();
    stopHealthFile();
    await classifier.dispose();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutDown('SIGTERM'));
  process.once('SIGINT', () => void shutDown('SIGINT'));
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
