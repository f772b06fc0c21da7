import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { enqueueImages, IMAGES_PER_REQUEST } from '../../../cli/jobs/enqueue-images.js';
import type { ListedImage } from '../../../pipeline/jobs/job-messages.js';
import { newJobId } from '../../../pipeline/jobs/job-table.js';
import { parseS3Event } from '../../../pipeline/s3-event.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';

/** The enqueue step of `submit` against the embedded SQS: what Ctrl-C and `--resume` rely on. */
describe('enqueueing a job (interrupted and resumed)', () => {
  let pipeline: LocalPipeline;
  before(async () => {
    pipeline = await LocalPipeline.start();
    await pipeline.drainQueue();
  });
  after(() => pipeline.stop());

  const manifest = (count: number): ListedImage[] =>
    Array.from({ length: count }, (_, i) => ({
      bucket: pipeline.aws.bucket,
      key: `uploads/big/${String(i).padStart(5, '0')}.jpg`,
      etag: `etag-${i}`,
      size: 1000,
      lastModified: '2026-01-01T00:00:00.000Z',
    }));
  async function* slowly(images: readonly ListedImage[]): AsyncGenerator<ListedImage> {
    for (const image of images) {
      if (Number(image.key.slice(-9, -4)) % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      yield image;
    }
  }
  /** Every record on the queue, the messages deleted: the keys, in any order. */
  async function takeAllKeys(): Promise<string[]> {
    const keys: string[] = [];
    for (;;) {
      const { Messages = [] } = await pipeline.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: pipeline.aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return keys;
      for (const message of Messages) {
        const parsed = parseS3Event(message.Body);
        assert.equal(parsed.kind, 'records');
        if (parsed.kind === 'records') keys.push(...parsed.records.map((record) => record.key));
      }
      await pipeline.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: pipeline.aws.queueUrl,
          Entries: Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
    }
  }

  it('stops at an exact count in manifest order when interrupted, and a resume sends the rest: every image once', async () => {
    const images = manifest(1234);
    const jobId = newJobId();
    const controller = new AbortController();
    const reported: number[] = [];
    const stopped = await enqueueImages({
      sqs: pipeline.sqs,
      queueUrl: pipeline.aws.queueUrl,
      jobId,
      region: 'us-east-1',
      images: slowly(images),
      skip: 0,
      signal: controller.signal,
      onProgress: (enqueued) => {
        reported.push(enqueued);
        if (enqueued >= 300) controller.abort();
      },
    });
    assert.equal(stopped.interrupted, true);
    assert.ok(stopped.enqueued >= 300 && stopped.enqueued < images.length, `stopped part way: ${stopped.enqueued}`);
    assert.equal(stopped.enqueued % IMAGES_PER_REQUEST, 0);
    assert.deepEqual(
      reported,
      [...reported].sort((a, b) => a - b),
      'the count only grows',
    );
    const sentFirst = await takeAllKeys();
    assert.equal(sentFirst.length, stopped.enqueued, 'the count is what is on the queue');
    assert.deepEqual(new Set(sentFirst), new Set(images.slice(0, stopped.enqueued).map((image) => image.key)));

    const resumed = await enqueueImages({
      sqs: pipeline.sqs,
      queueUrl: pipeline.aws.queueUrl,
      jobId,
      region: 'us-east-1',
      images: slowly(images),
      skip: stopped.enqueued,
      onProgress: () => undefined,
    });
    assert.deepEqual([resumed.enqueued, resumed.interrupted], [images.length, false]);
    const sentThen = await takeAllKeys();
    const all = [...sentFirst, ...sentThen];
    assert.equal(all.length, images.length, 'nothing sent twice');
    assert.equal(new Set(all).size, images.length, 'every image sent');
    assert.equal(resumed.requests, Math.ceil((images.length - stopped.enqueued) / IMAGES_PER_REQUEST));
  });

  it('after a failed request, counts only what reached the queue in manifest order, so a resume loses nothing', async () => {
    const images = manifest(1000);
    const jobId = newJobId();
    let calls = 0;
    // The third SendMessageBatch fails late (after the SDK's retries, say); the requests after it succeed first.
    const failingThird = {
      send: (command: Parameters<typeof pipeline.sqs.send>[0]) =>
        ++calls === 3
          ? new Promise((_, reject) => setTimeout(() => reject(new Error('SQS is having a bad day')), 500))
          : pipeline.sqs.send(command),
    } as unknown as typeof pipeline.sqs;
    let reported = 0;
    await assert.rejects(
      enqueueImages({
        sqs: failingThird,
        queueUrl: pipeline.aws.queueUrl,
        jobId,
        region: 'us-east-1',
        images: slowly(images),
        skip: 0,
        onProgress: (enqueued) => {
          reported = enqueued;
        },
      }),
      /bad day/,
    );
    assert.ok(reported <= 2 * IMAGES_PER_REQUEST, `only what precedes the failed request counts: ${reported}`);
    const sentFirst = await takeAllKeys();
    assert.ok(
      sentFirst.length > 3 * IMAGES_PER_REQUEST,
      `requests after the failed one got through: ${sentFirst.length}`,
    );
    await enqueueImages({
      sqs: pipeline.sqs,
      queueUrl: pipeline.aws.queueUrl,
      jobId,
      region: 'us-east-1',
      images: slowly(images),
      skip: reported,
      onProgress: () => undefined,
    });
    const all = new Set([...sentFirst, ...(await takeAllKeys())]);
    assert.equal(all.size, images.length, 'every image reached the queue');
  });
});
