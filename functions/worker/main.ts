#!/usr/bin/env node
import { ConfigurationError } from '../../common/errors.js';
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { createLogger } from '../../common/logger.js';
import { configureImageDecoding, ImageClassifier } from '../../model/index.js';
import { loadWorkerConfig } from './config.js';
import { QueueConsumer } from './queue-consumer.js';

/**
 * The container task's entry point: configuration from the environment, the AWS clients from the
 * standard chain (`AWS_REGION`, `AWS_ENDPOINT_URL*`, task role), the model loaded once, then the
 * worker until SIGTERM or SIGINT, after which it drains and exits 0.
 */
const logger = createLogger('worker');
try {
  const config = loadWorkerConfig();
  const classifier = await ImageClassifier.load(
    { modelPath: config.modelPath, device: config.device, threads: config.threads, maxBatchSize: config.maxBatch, topK: config.topK },
    logger,
  );
  configureImageDecoding();
  const worker = new QueueConsumer(config, { s3: createS3Client(), sqs: createSqsClient(), classifier, logger });
  const shutDown = async (signal: string) => {
    logger.info({ signal }, 'shutdown requested');
    await worker.stop();
    await classifier.dispose();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutDown('SIGTERM'));
  process.once('SIGINT', () => void shutDown('SIGINT'));
  worker.start();
} catch (error) {
  if (error instanceof ConfigurationError) logger.fatal({ code: error.code }, error.message);
  else logger.fatal({ err: error }, 'worker failed to start');
  process.exit(1);
}
