import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChangeMessageVisibilityCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import sharp from 'sharp';
import { StandInClassifier } from '../../../bench/stand-in-classifier.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { shouldSplit, singleRecordBodies, SPLIT_FROM_RECEIVE } from '../../../functions/worker/split-message.js';
import { jobMessageBody } from '../../../pipeline/jobs/job-messages.js';
import { parseS3Event } from '../../../pipeline/s3-event.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';

const listed = (key: string, etag: string) => ({
  bucket: 'pipeline',
  key,
  etag,
  size: 10,
  lastModified: '2026-12-01T00:00:00.000Z',
});

describe('splitting a message of several records', () => {
  it('splits only a message of several records received again', () => {
    assert.equal(SPLIT_FROM_RECEIVE, 2);
    assert.equal(shouldSplit(10, 1), false, 'the first receive runs the ten images');
    assert.equal(shouldSplit(10, 2), true);
    assert.equal(shouldSplit(1, 3), false, 'one record: nothing to split');
  });

  it('gives each record a body of its own, keeping the job and the listed size and ETag', () => {
    const body = jobMessageBody(
      'job-20261206T000000Z-0123abcd',
      [listed('uploads/a.jpg', '"a"'), listed('uploads/b c.jpg', '"b"'), listed('uploads/c.jpg', '"c"')],
      'us-east-1',
    );
    const parts = singleRecordBodies(body).map((part) => parseS3Event(part, 'm'));
    assert.equal(parts.length, 3);
    for (const part of parts) assert.equal(part.kind === 'records' && part.records.length, 1);
    assert.deepEqual(
      parts.flatMap((part) => (part.kind === 'records' ? part.records : [])),
      (parseS3Event(body, 'm') as { readonly records: readonly unknown[] }).records,
    );
  });
});

describe('a worker given a message of several records for the second time', () => {
  let pipeline: LocalPipeline | undefined;
  let worker: QueueConsumer | undefined;
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
  });

  it('sends each record back as a message of its own, deletes the message, and each image gets its result', async () => {
    pipeline = await LocalPipeline.start();
    const keys = ['uploads/split/0.jpg', 'uploads/split/1.jpg', 'uploads/split/2.jpg'];
    for (const [i, key] of keys.entries())
      await pipeline.upload(
        key,
        await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 80 * i, g: 40, b: 9 } } })
          .jpeg()
          .toBuffer(),
      );
    await pipeline.drainQueue();
    const records = await Promise.all(
      keys.map(async (key) => ({ ...listed(key, (await pipeline!.head(key)).etag), bucket: pipeline!.aws.bucket })),
    );
    // An S3 event of three records (a job's message without its job): received once, as by a
    // worker that died holding it, and visible again.
    const body = JSON.stringify({
      Records: (
        JSON.parse(jobMessageBody('x', records, 'us-east-1')) as { Records: Array<Record<string, unknown>> }
      ).Records.map(({ alexnetPipeline: _, ...record }) => record),
    });
    await pipeline.sendMessage(body);
    const { Messages = [] } = await pipeline.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: pipeline.aws.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
    );
    assert.equal(Messages.length, 1);
    await pipeline.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: pipeline.aws.queueUrl,
        ReceiptHandle: Messages[0]!.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );

    worker = pipeline.startWorker(new StandInClassifier(8));
    await pipeline.waitForKeys(keys.map((key) => key.replace('uploads/', 'results/') + '.json'));
    await pipeline.waitFor('the queue empty', () => pipeline!.queueIsEmpty());
    assert.equal(worker.stats.splitMessages, 1);
    assert.equal(worker.stats.messages, 1 + keys.length, 'the message, then one per record');
    assert.equal(worker.stats.classified, keys.length, 'each image classified once');
    for (const key of keys)
      assert.equal((await pipeline.readJson(key.replace('uploads/', 'results/') + '.json')).status, 'ok');
  });
});
