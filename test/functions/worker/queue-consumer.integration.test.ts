import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../../common/aws-clients.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { ImageClassifier } from '../../../model/index.js';
import { textPretendingToBeAnImage, truncated } from '../../helpers/image-factories.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { fixtureImageNames, readAwsEventFixture, readFixtureImage } from '../../helpers/fixtures.js';

describe('worker against embedded S3 and SQS', () => {
  let classifier: ImageClassifier;
  let pipeline: LocalPipeline;
  let worker: QueueConsumer | undefined;

  before(async () => {
    classifier = await ImageClassifier.load({ maxBatchSize: 32, device: 'cpu' });
  });
  after(() => classifier.dispose());
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await pipeline?.stop();
  });

  it('writes an ok result for every fixture image and an error result for corrupt files', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    const names = fixtureImageNames();
    await Promise.all(names.map((name) => pipeline.upload(`uploads/fixtures/${name}`, readFixtureImage(name))));
    await pipeline.upload('uploads/bad/truncated.jpg', truncated(readFixtureImage('chelsea.jpg')));
    await pipeline.upload('uploads/bad/shopping-list.jpg', textPretendingToBeAnImage);
    await pipeline.upload('uploads/bad/empty.png', Buffer.alloc(0));

    const okKeys = names.map((name) => `results/fixtures/${name}.json`);
    const errorKeys = {
      'results/bad/truncated.jpg.json': 'CORRUPT_IMAGE',
      'results/bad/shopping-list.jpg.json': 'NOT_AN_IMAGE',
      'results/bad/empty.png.json': 'EMPTY_FILE',
    };
    await pipeline.waitForKeys([...okKeys, ...Object.keys(errorKeys)]);

    for (const key of okKeys) {
      const result = await pipeline.readJson(key);
      assert.equal(result.status, 'ok', key);
      assert.equal(result.labels.length, 5);
      assert.equal(result.schemaVersion, 1);
      assert.deepEqual(result.model, classifier.model);
      assert.match(result.fingerprint, /^[0-9a-f]{32}$/);
      assert.equal(result.device, 'cpu');
      assert.equal(result.source.bucket, pipeline.aws.bucket);
      assert.equal(result.source.key, key.replace(/^results\//, 'uploads/').replace(/\.json$/, ''));
      assert.match(result.source.etag, /^[0-9a-f]{32}$/);
      assert.ok(result.source.size > 0);
      assert.ok(result.timings.batchSize >= 1 && result.timings.inferenceMs >= 0);
      assert.ok(!Number.isNaN(Date.parse(result.processedAt)));
    }
    for (const [key, code] of Object.entries(errorKeys)) {
      const result = await pipeline.readJson(key);
      assert.equal(result.status, 'error', key);
      assert.equal(result.error.code, code, key);
      assert.equal(result.labels, undefined);
    }
    await pipeline.waitFor('an empty queue', () => pipeline.queueIsEmpty());
    assert.equal(worker.stats.classified, names.length);
    assert.equal(worker.stats.errorResults, 3);
    assert.ok(worker.stats.batches < names.length + 3, 'images from several messages share batches');
  });

  it('classifies images whatever the case of their ending (photo.Jpg), and skips the rest', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    for (const key of ['uploads/case/a.Jpg', 'uploads/case/b.JPEG', 'uploads/case/c.pNg'])
      await pipeline.upload(key, readFixtureImage(key.endsWith('pNg') ? 'coffee-portrait.png' : 'chelsea.jpg'));
    await pipeline.upload('uploads/case/notes.Txt', 'not an image');
    await pipeline.waitForKeys(['results/case/a.Jpg.json', 'results/case/b.JPEG.json', 'results/case/c.pNg.json']);
    await pipeline.waitFor('an empty queue', () => pipeline.queueIsEmpty());
    assert.deepEqual((await pipeline.listKeys('results/case/')).length, 3);
    assert.equal(worker.stats.skipped, 1, 'notes.Txt: notified, skipped, deleted');
  });

  it('handles keys with spaces, unicode and a literal +', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    const keys = ['uploads/cats/tabby 1.jpg', 'uploads/ünïcødé/猫 (1).jpg', 'uploads/a+b=c.jpg'];
    for (const key of keys) await pipeline.upload(key, readFixtureImage('chelsea.jpg'));
    const resultKeys = ['results/cats/tabby 1.jpg.json', 'results/ünïcødé/猫 (1).jpg.json', 'results/a+b=c.jpg.json'];
    await pipeline.waitForKeys(resultKeys);
    for (const [i, key] of resultKeys.entries()) assert.equal((await pipeline.readJson(key)).source.key, keys[i]);
  });

  it('classifies the object of each ObjectCreated event as AWS documents it (Put, Post, Copy, CompleteMultipartUpload), and deletes the rest', async () => {
    pipeline = await LocalPipeline.start();
    // The fixtures' keys, decoded; each object is there before its event arrives (its own notification drained).
    const events = {
      's3-object-created-put.json': ['uploads/holiday 2026/café (1) + more.jpg', 'chelsea.jpg'],
      's3-object-created-post.json': ['uploads/form/猫の写真.png', 'coffee-portrait.png'],
      's3-object-created-copy.json': ['uploads/archive/2019/IMG_0001 copy.jpeg', 'coffee.jpg'],
      's3-object-created-multipart.json': ['uploads/phone/IMG_0042.JPG', 'astronaut.jpg'],
    } as const;
    for (const [key, image] of Object.values(events)) await pipeline.upload(key, readFixtureImage(image));
    await pipeline.drainQueue();
    worker = pipeline.startWorker(classifier);
    for (const [fixture, [key]] of Object.entries(events)) {
      const event = JSON.parse(readAwsEventFixture(fixture));
      const { etag, size } = await pipeline.head(key);
      Object.assign(event.Records[0].s3.object, { eTag: etag, size });
      event.Records[0].s3.bucket.name = pipeline.aws.bucket;
      await pipeline.sendMessage(JSON.stringify(event));
    }
    await pipeline.sendMessage(readAwsEventFixture('s3-test-event.json'));
    await pipeline.sendMessage(readAwsEventFixture('s3-object-removed-delete.json'));
    const resultKeys = Object.values(events).map(([key]) => `results/${key.slice('uploads/'.length)}.json`);
    await pipeline.waitForKeys(resultKeys);
    for (const [index, resultKey] of resultKeys.entries()) {
      const result = await pipeline.readJson(resultKey);
      assert.deepEqual([result.status, result.source.key], ['ok', Object.values(events)[index]![0]]);
    }
    await pipeline.waitFor('an empty queue', () => pipeline.queueIsEmpty());
    assert.equal(
      (await pipeline.depth(pipeline.aws.dlqUrl)).visible,
      0,
      'the test event and the removal are deleted, not dead-lettered',
    );
  });

  it('deletes the test event, skips non-images and keys outside uploads/, and sends an unusable body straight to the DLQ', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    const { etag, size } = { etag: 'etag-0', size: 10 };
    await pipeline.upload('uploads/notes.txt', 'not an image');
    await pipeline.sendEventFor('uploads/readme.md', etag, size);
    await pipeline.sendEventFor('results/loop.jpg.json', etag, size);
    await pipeline.sendEventFor('elsewhere/photo.jpg', etag, size);
    await pipeline.sendMessage('{"hello": "this is not an S3 event"}');
    const badEscape = JSON.parse(readAwsEventFixture('s3-object-created-put.json'));
    badEscape.Records[0].s3.object.key = 'uploads/100%-off.jpg';
    await pipeline.sendMessage(JSON.stringify(badEscape));

    await pipeline.waitFor(
      'both unusable messages in the DLQ',
      async () => (await pipeline.depth(pipeline.aws.dlqUrl)).visible === 2,
    );
    await pipeline.waitFor('an empty main queue', () => pipeline.queueIsEmpty());
    assert.equal(
      worker.stats.skipped,
      4,
      'notes.txt (its own notification), readme.md, the result key and the key outside uploads/',
    );
    assert.equal(worker.stats.invalidMessages, 2, 'each unusable message was received once: retrying cannot fix it');
    const { Messages = [] } = await pipeline.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.aws.dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    assert.ok(Messages.some((message) => message.Body?.includes('100%-off')));
    assert.ok(Messages.every((message) => message.MessageAttributes?.['alexnet-original-message-id']?.StringValue));
    assert.deepEqual(await pipeline.listKeys('results/'), []);
  });

  it('does not recompute a duplicate event for a result with the same ETag and fingerprint', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    await pipeline.upload('uploads/dup.jpg', readFixtureImage('coffee.jpg'));
    await pipeline.waitForKeys(['results/dup.jpg.json']);
    const first = await pipeline.readJson('results/dup.jpg.json');
    const firstModified = await pipeline.lastModified('results/dup.jpg.json');
    await pipeline.waitFor('the first message deleted', async () => (await pipeline.depth()).inFlight === 0);

    await pipeline.sendEventFor('uploads/dup.jpg', first.source.etag, first.source.size);
    await pipeline.waitFor('the duplicate handled', async () => worker!.stats.duplicates === 1);
    assert.equal((await pipeline.readJson('results/dup.jpg.json')).processedAt, first.processedAt);
    assert.deepEqual(await pipeline.lastModified('results/dup.jpg.json'), firstModified);
    assert.equal(worker.stats.classified, 1);
  });

  it('recomputes a redelivered event when a setting that changes the result (top-k) changed', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    await pipeline.upload('uploads/topk.jpg', readFixtureImage('coffee.jpg'));
    await pipeline.waitForKeys(['results/topk.jpg.json']);
    await pipeline.waitFor('the first message deleted', () => pipeline.queueIsEmpty());
    await worker.stop();
    const first = await pipeline.readJson('results/topk.jpg.json');

    const topThree = await ImageClassifier.load({ maxBatchSize: 8, device: 'cpu', topK: 3 });
    try {
      worker = pipeline.startWorker(topThree);
      await pipeline.sendEventFor('uploads/topk.jpg', first.source.etag, first.source.size);
      await pipeline.waitFor(
        'the event handled',
        async () => worker!.stats.classified + worker!.stats.duplicates === 1,
      );
      assert.equal(worker.stats.classified, 1, 'same ETag and model, other top-k: computed again');
      const second = await pipeline.readJson('results/topk.jpg.json');
      assert.equal(second.labels.length, 3);
      assert.notEqual(second.fingerprint, first.fingerprint);
      await worker.stop();
    } finally {
      await topThree.dispose();
    }
  });

  it('never stores a result for bytes other than the event’s: an older event arriving after a newer one is skipped as superseded', async () => {
    pipeline = await LocalPipeline.start();
    await pipeline.upload('uploads/twice.jpg', readFixtureImage('coffee.jpg'));
    const older = await pipeline.head('uploads/twice.jpg');
    await pipeline.upload('uploads/twice.jpg', readFixtureImage('chelsea.jpg'));
    const newer = await pipeline.head('uploads/twice.jpg');
    await pipeline.drainQueue();
    // S3 events arrive unordered: the newer upload's event first, then the older one's.
    await pipeline.sendEventFor('uploads/twice.jpg', newer.etag, newer.size);
    await pipeline.sendEventFor('uploads/twice.jpg', older.etag, older.size);
    worker = pipeline.startWorker(classifier);
    await pipeline.waitFor(
      'both events handled',
      async () => worker!.stats.classified + worker!.stats.superseded === 2,
    );
    await pipeline.waitFor('an empty queue', () => pipeline.queueIsEmpty());

    assert.equal(worker.stats.superseded, 1);
    const result = await pipeline.readJson('results/twice.jpg.json');
    assert.deepEqual(
      [result.source.etag, result.source.size],
      [newer.etag, newer.size],
      'the result describes the bytes it was computed from',
    );
    const chelseaAlone = await classifier.classifyBatch([
      (await (await import('../../../model/index.js')).decodeImage(readFixtureImage('chelsea.jpg'))).rgb,
    ]);
    assert.equal(result.labels[0].index, chelseaAlone[0]![0]!.index, 'and its labels are the newer bytes’');
  });

  it('in a burst of redelivered events, recomputes only the image that was uploaded again', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    const keys = ['uploads/burst/a.jpg', 'uploads/burst/b.jpg', 'uploads/burst/c.jpg'];
    await Promise.all(keys.map((key) => pipeline.upload(key, readFixtureImage('chelsea.jpg'))));
    const resultKeys = keys.map((key) => key.replace('uploads/', 'results/') + '.json');
    await pipeline.waitForKeys(resultKeys);
    await pipeline.waitFor('the first messages deleted', () => pipeline.queueIsEmpty());
    await worker.stop();
    const before = await Promise.all(resultKeys.map((key) => pipeline.readJson(key)));

    // Queued while no worker runs, so that one receive takes them together (one results list).
    await pipeline.sendEventFor(keys[0]!, before[0]!.source.etag, before[0]!.source.size);
    await pipeline.upload(keys[1]!, readFixtureImage('astronaut.jpg'));
    await pipeline.sendEventFor(keys[2]!, before[2]!.source.etag, before[2]!.source.size);
    await pipeline.aws.notificationsDelivered();
    worker = pipeline.startWorker(classifier);
    await pipeline.waitFor(
      'the three events handled',
      async () => worker!.stats.duplicates + worker!.stats.classified === 3,
    );

    assert.equal(worker.stats.duplicates, 2);
    assert.equal(worker.stats.classified, 1);
    const after = await Promise.all(resultKeys.map((key) => pipeline.readJson(key)));
    assert.equal(after[0]!.processedAt, before[0]!.processedAt);
    assert.notEqual(after[1]!.source.etag, before[1]!.source.etag);
    assert.equal(after[2]!.processedAt, before[2]!.processedAt);
  });

  it('asks SQS for no more messages than it has free capacity', async () => {
    pipeline = await LocalPipeline.start();
    const { sqs, asked } = sqsRecordingReceives(pipeline);
    worker = pipeline.startWorker(classifier, { maxImagesInFlight: 3, receiveConcurrency: 2, maxWaitMs: 300 }, { sqs });
    const keys = Array.from({ length: 12 }, (_, i) => `uploads/capacity/${i}.jpg`);
    await Promise.all(keys.map((key) => pipeline.upload(key, readFixtureImage('coffee.jpg'))));
    await pipeline.waitForKeys(keys.map((key) => key.replace('uploads/', 'results/') + '.json'));
    assert.ok(asked.length > 0);
    assert.ok(Math.max(...asked) <= 3, `asked for ${Math.max(...asked)} messages with room for 3`);
    assert.ok(asked.reduce((a, b) => a + b, 0) >= keys.length);
  });

  it('asks for full receives of ten while busy, rather than one message as each slot frees', async () => {
    pipeline = await LocalPipeline.start();
    const { sqs, asked } = sqsRecordingReceives(pipeline);
    const keys = Array.from({ length: 60 }, (_, i) => `uploads/full-receives/${i}.jpg`);
    await Promise.all(keys.map((key) => pipeline.upload(key, readFixtureImage('coffee.jpg'))));
    // Room for 40: the backlog of 60 keeps it full, and slots free one image at a time.
    worker = pipeline.startWorker(classifier, { maxImagesInFlight: 40, receiveConcurrency: 2, maxWaitMs: 50 }, { sqs });
    await pipeline.waitForKeys(keys.map((key) => key.replace('uploads/', 'results/') + '.json'));
    assert.ok(asked.length >= 6, `${asked.length} receives for 60 messages`);
    assert.deepEqual(
      asked.filter((count) => count !== 10),
      [],
      'every receive waited for ten free slots',
    );
  });

  it('treats a bucket that does not exist as a configuration error: retried, said loudly, no error result', async () => {
    pipeline = await LocalPipeline.start();
    const lines: Array<Record<string, unknown>> = [];
    const { pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    worker = pipeline.startWorker(classifier, { bucketName: undefined, retryDelaySeconds: 30 }, { logger });
    const event = JSON.parse(readAwsEventFixture('s3-object-created-put.json'));
    event.Records[0].s3.bucket.name = 'no-such-bucket-anywhere';
    await pipeline.sendMessage(JSON.stringify(event));
    await pipeline.waitFor('the failure logged', async () => lines.some((line) => line.code === 'BUCKET_NOT_FOUND'));
    const logged = lines.find((line) => line.code === 'BUCKET_NOT_FOUND')!;
    assert.equal(logged.level, 50, 'logged at error level');
    assert.match(String(logged.msg), /configuration error/);
    assert.equal(worker.stats.errorResults, 0);
    assert.equal(worker.stats.retried, 1);
    assert.equal((await pipeline.depth()).inFlight, 1, 'the message waits for its retry, it is not deleted');
  });
});

/** An SQS client to the pipeline's emulator, and the `MaxNumberOfMessages` of each ReceiveMessage it sends. */
function sqsRecordingReceives(pipeline: LocalPipeline): { sqs: SQSClient; asked: number[] } {
  const sqs = createSqsClient(pipeline.aws.clientOptions());
  const asked: number[] = [];
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ReceiveMessageCommand')
        asked.push((args.input as { MaxNumberOfMessages: number }).MaxNumberOfMessages);
      return next(args);
    },
    { step: 'initialize', name: 'recordReceives' },
  );
  return { sqs, asked };
}
