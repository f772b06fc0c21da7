import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { redriveDeadLetters } from '../../cli/redrive/dead-letter-redrive.js';
import type { QueueConsumer } from '../../functions/worker/queue-consumer.js';
import { ImageClassifier } from '../../model/index.js';
import { LocalPipeline } from '../helpers/local-pipeline.js';
import { readFixtureImage } from '../helpers/fixtures.js';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/AlexnetPipeline-Jobs';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/AlexnetPipeline-DeadLetterQueue';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:AlexnetPipeline-Jobs';
const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:AlexnetPipeline-DeadLetterQueue';

describe('redrive on AWS: an SQS message move task (aws-sdk-client-mock, shapes from the SQS API reference)', () => {
  const client = new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  // This instance only: the emulator tests below use real clients.
  const sqs = mockClient(client);
  afterEach(() => sqs.reset());
  after(() => sqs.restore());
  const arns = () => {
    sqs.on(GetQueueAttributesCommand, { QueueUrl: DLQ_URL }).resolves({ Attributes: { QueueArn: DLQ_ARN } });
    sqs.on(GetQueueAttributesCommand, { QueueUrl: QUEUE_URL }).resolves({ Attributes: { QueueArn: QUEUE_ARN } });
  };
  const task = (status: string, moved: number, extra: Record<string, unknown> = {}) => ({
    Results: [
      {
        Status: status,
        SourceArn: DLQ_ARN,
        DestinationArn: QUEUE_ARN,
        ApproximateNumberOfMessagesMoved: moved,
        ApproximateNumberOfMessagesToMove: 7,
        StartedTimestamp: 1_795_000_000_000,
        ...extra,
      },
    ],
  });

  it('starts a move task from the DLQ to the queue and waits until it has completed', async () => {
    arns();
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'eyJ0YXNrSWQiOiJkYTFk' });
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce(task('RUNNING', 3, { TaskHandle: 'eyJ0YXNrSWQiOiJkYTFk' }))
      .resolves(task('COMPLETED', 7));
    const report = await redriveDeadLetters({
      sqs: client,
      queueUrl: QUEUE_URL,
      deadLetterQueueUrl: DLQ_URL,
      pollIntervalMs: 1,
    });
    assert.deepEqual(report, { method: 'move-task', moved: 7, cameBack: 0 });
    assert.deepEqual(sqs.commandCalls(StartMessageMoveTaskCommand)[0]!.args[0].input, {
      SourceArn: DLQ_ARN,
      DestinationArn: QUEUE_ARN,
    });
    assert.equal(sqs.commandCalls(ReceiveMessageCommand).length, 0, 'no receive-send-delete on AWS');
  });

  it('reports a failed move task with its reason', async () => {
    arns();
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqs
      .on(ListMessageMoveTasksCommand)
      .resolves(task('FAILED', 2, { FailureReason: 'AWS.SimpleQueueService.KmsAccessDenied' }));
    await assert.rejects(
      redriveDeadLetters({ sqs: client, queueUrl: QUEUE_URL, deadLetterQueueUrl: DLQ_URL, pollIntervalMs: 1 }),
      /move task failed after moving 2 messages: AWS.SimpleQueueService.KmsAccessDenied/,
    );
  });

  it('says how to follow a task that outlasts the timeout', async () => {
    arns();
    sqs.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: 'h' });
    sqs.on(ListMessageMoveTasksCommand).resolves(task('RUNNING', 1, { TaskHandle: 'h' }));
    await assert.rejects(
      redriveDeadLetters({
        sqs: client,
        queueUrl: QUEUE_URL,
        deadLetterQueueUrl: DLQ_URL,
        timeoutSeconds: 0,
        pollIntervalMs: 1,
      }),
      /still running .*aws sqs list-message-move-tasks --source-arn/,
    );
  });

  it('falls back to receive-send-delete where the endpoint has no move tasks, and reports deletes that fail twice', async () => {
    arns();
    sqs
      .on(StartMessageMoveTaskCommand)
      .rejects(Object.assign(new Error('Unknown action: StartMessageMoveTask'), { name: 'InvalidAction' }));
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [{ MessageId: 'm1', ReceiptHandle: 'r1', Body: '{}' }] })
      .resolves({ Messages: [] });
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'n1', MD5OfMessageBody: 'x' }], Failed: [] });
    sqs
      .on(DeleteMessageBatchCommand)
      .resolves({ Successful: [], Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', SenderFault: true }] });
    await assert.rejects(
      redriveDeadLetters({ sqs: client, queueUrl: QUEUE_URL, deadLetterQueueUrl: DLQ_URL }),
      /1 messages were copied to the queue but could not be deleted .*now in both/,
    );
    assert.equal(sqs.commandCalls(DeleteMessageBatchCommand).length, 2, 'the failed delete was tried once more');
  });
});

describe('redrive on the local emulator, with a worker running', () => {
  let classifier: ImageClassifier;
  let pipeline: LocalPipeline;
  let worker: QueueConsumer;
  before(async () => {
    classifier = await ImageClassifier.load({ device: 'cpu', maxBatchSize: 8 });
  });
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
    await classifier.dispose();
  });

  it(
    'moves each message once: a poison message that comes straight back is left in the DLQ and the run ends',
    { timeout: 60_000 },
    async () => {
      pipeline = await LocalPipeline.start();
      await pipeline.upload('uploads/redrive/cat.jpg', readFixtureImage('chelsea.jpg'));
      const { etag, size } = await pipeline.head('uploads/redrive/cat.jpg');
      await pipeline.drainQueue();
      await pipeline.sendEventFor('uploads/redrive/cat.jpg', etag, size, pipeline.aws.dlqUrl);
      await pipeline.sendMessage('{"this": "will never be an S3 event"}', pipeline.aws.dlqUrl);
      worker = pipeline.startWorker(classifier);

      const started = performance.now();
      const report = await redriveDeadLetters({
        sqs: pipeline.sqs,
        queueUrl: pipeline.aws.queueUrl,
        deadLetterQueueUrl: pipeline.aws.dlqUrl,
      });
      assert.ok(performance.now() - started < 20_000, 'the run ends');
      assert.equal(report.method, 'receive-send-delete');
      assert.equal(report.moved, 2);
      await pipeline.waitForKeys(['results/redrive/cat.jpg.json']);
      await pipeline.waitFor(
        'the poison message back in the DLQ',
        async () => (await pipeline.depth(pipeline.aws.dlqUrl)).visible === 1,
      );
      const again = await redriveDeadLetters({
        sqs: pipeline.sqs,
        queueUrl: pipeline.aws.queueUrl,
        deadLetterQueueUrl: pipeline.aws.dlqUrl,
      });
      assert.equal(again.moved, 1, 'a later run moves it once more, and only once');
    },
  );
});
