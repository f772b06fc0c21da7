import type { Logger } from '../common/logger.js';
import { createS3Client, createSqsClient } from '../common/aws-clients.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resolveWorkerConfig, workerClientTimeouts } from '../functions/worker/config.js';
import { QueueConsumer, type QueueConsumerDependencies } from '../functions/worker/queue-consumer.js';
import type { BatchClassifier } from '../model/index.js';
import type { WorkerSettingOverrides } from '../pipeline/worker-settings.js';
import type { AwsClientOptions } from '../common/aws-clients.js';

/** What the worker needs of an emulator: its clients' options and its environment (`LocalAws` has both). */
export interface EmulatorConnection {
  clientOptions(overrides?: Partial<AwsClientOptions>): AwsClientOptions;
  environment(): Record<string, string>;
}

/** Options of {@link startInProcessWorker}. */
export interface InProcessWorkerOptions {
  /** The emulator in this process, or one in another process (`local --serve --no-worker`). */
  readonly aws: EmulatorConnection;
  readonly classifier: BatchClassifier;
  readonly logger: Logger;
  /** Worker settings on top of the emulator's connection (e.g. `{ maxBatch: 8 }`). Default: none. */
  readonly settings?: WorkerSettingOverrides;
  /** Decodes each upload. Default: the worker's (`decodeImage`). */
  readonly decode?: QueueConsumerDependencies['decode'];
}

/** A running in-process worker. */
export interface InProcessWorker {
  readonly consumer: QueueConsumer;
  /** Resolves with the cause if the worker fails (its messages are then released). */
  readonly failed: Promise<Error>;
  /** Stops the consumer (draining what it holds) and closes its clients. */
  stop(): Promise<void>;
}

/**
 * The container's queue consumer, run in this process against the embedded emulator with the same
 * configuration path and SDK clients it has on AWS (`local`, the benchmark).
 */
export function startInProcessWorker(options: InProcessWorkerOptions): InProcessWorker {
  const config = resolveWorkerConfig(options.settings, options.aws.environment());
  const timeouts = workerClientTimeouts(config);
  const s3 = createS3Client(options.aws.clientOptions({ timeouts: timeouts.s3 }));
  const sqs = createSqsClient(options.aws.clientOptions({ timeouts: timeouts.sqs }));
  let dynamo: DynamoDBClient | undefined;
  const openDynamo = async () =>
    (dynamo ??= (await import('../common/dynamodb-client.js')).createDynamoDbClient(
      options.aws.clientOptions({ timeouts: timeouts.s3 }),
    ));
  const consumer = new QueueConsumer(config, {
    s3,
    sqs,
    dynamo: openDynamo,
    classifier: options.classifier,
    logger: options.logger,
    decode: options.decode,
  });
  consumer.start();
  return {
    consumer,
    failed: consumer.failed,
    async stop() {
      await consumer.stop();
      s3.destroy();
      sqs.destroy();
      dynamo?.destroy();
    },
  };
}
