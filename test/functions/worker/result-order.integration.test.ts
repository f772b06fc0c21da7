import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { ObjectStore } from '../../../pipeline/object-store.js';
import { writeResultInOrder } from '../../../functions/worker/ordered-result-write.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { ImageClassifier, type BatchClassifier } from '../../../model/index.js';
import { buildResult } from '../../../pipeline/result-document.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { fixtureImageNames, readFixtureImage } from '../../helpers/fixtures.js';

/** `inner`, with `beforeBatch` awaited before each of its batches. */
function classifierWith(inner: BatchClassifier, beforeBatch: () => Promise<void>): BatchClassifier {
  return {
    model: inner.model,
    device: inner.device,
    maxBatchSize: inner.maxBatchSize,
    topK: inner.topK,
    async classifyBatch(images) {
      await beforeBatch();
      return inner.classifyBatch(images);
    },
  };
}

/** A classifier whose every batch takes `delayMs` longer: a slow worker whose writes come late. */
function slowClassifier(inner: BatchClassifier, delayMs: number): BatchClassifier {
  return classifierWith(inner, () => new Promise((resolve) => setTimeout(resolve, delayMs)));
}

/** A classifier that holds every batch until `open()`: a worker stopped between its download and its write. */
function heldClassifier(inner: BatchClassifier) {
  let open!: () => void;
  let entered!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (entered = resolve));
  const classifier = classifierWith(inner, () => {
    entered();
    return opened;
  });
  return { classifier, reached, open };
}

const MODEL = { sha256: 'a'.repeat(64), pretrained: false, weights: 'test', precision: 'fp32' as const };

/** A result document for `etag` of `key` (what is in it does not matter here, only which version it names). */
function resultFor(bucket: string, key: string, etag: string) {
  return buildResult(
    { source: { bucket, key, etag, size: 1 } },
    {
      outcome: { status: 'ok', labels: [{ index: 281, label: 'tabby', score: 0.5 }] },
      model: MODEL,
      fingerprint: 'f'.repeat(32),
      device: 'cpu',
      processedAt: new Date(),
      timings: { preprocessMs: 0, inferenceMs: 0, batchSize: 1 },
    },
  );
}

describe('results never go back in time (conditional writes ordered by the event sequencer)', () => {
  let classifier: ImageClassifier;
  let pipeline: LocalPipeline;
  const workers: QueueConsumer[] = [];
  before(async () => {
    classifier = await ImageClassifier.load({ maxBatchSize: 32, device: 'cpu' });
  });
  after(() => classifier.dispose());
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop()));
    await pipeline?.stop();
  });

  it('a late writer of version 1 does not overwrite the stored result of version 2 (two workers racing on one key)', async () => {
    pipeline = await LocalPipeline.start();
    const key = 'uploads/race/cat.jpg';
    const [queueA, queueB] = [await pipeline.createQueue('worker-a'), await pipeline.createQueue('worker-b')];
    await pipeline.upload(key, readFixtureImage('chelsea.jpg'));
    const version1 = await pipeline.head(key);
    const event1 = await pipeline.takeEvent();
    // Worker A reads version 1 (its If-Match holds) and is held before it writes…
    const held = heldClassifier(classifier);
    const workerA = pipeline.startWorker(held.classifier, { queueUrl: queueA });
    workers.push(workerA);
    await pipeline.sendMessage(event1, queueA);
    await held.reached;
    // …while version 2 is uploaded and worker B stores its result.
    await pipeline.upload(key, readFixtureImage('coffee.jpg'));
    const version2 = await pipeline.head(key);
    const event2 = await pipeline.takeEvent();
    const workerB = pipeline.startWorker(classifier, { queueUrl: queueB });
    workers.push(workerB);
    await pipeline.sendMessage(event2, queueB);
    await pipeline.waitFor(
      'version 2’s result',
      async () =>
        (await pipeline.exists('results/race/cat.jpg.json')) &&
        (await pipeline.readJson('results/race/cat.jpg.json')).source.etag === version2.etag,
    );
    // Then A goes on and tries to store version 1's result.
    held.open();
    await pipeline.waitFor(
      'worker A done',
      async () => workerA.stats.superseded + workerA.stats.classified === 1 && (await pipeline.queueIsEmpty()),
    );
    await pipeline.waitFor(
      'queue A empty',
      async () => (await pipeline.depth(queueA)).visible + (await pipeline.depth(queueA)).inFlight === 0,
    );

    assert.notEqual(version1.etag, version2.etag);
    assert.equal(workerA.stats.superseded, 1, 'A saw that a newer version’s result is stored');
    assert.equal(workerA.stats.classified, 0, 'and stored nothing');
    assert.equal((await pipeline.readJson('results/race/cat.jpg.json')).source.etag, version2.etag);
  });

  it('two workers, one slow, keys rewritten while they work: every result ends naming its object’s current ETag', async () => {
    pipeline = await LocalPipeline.start();
    // The slow one's writes arrive after the fast one has stored newer versions' results.
    const small = { maxBatch: 2, maxImagesInFlight: 2, receiveConcurrency: 1 };
    workers.push(pipeline.startWorker(slowClassifier(classifier, 400), small), pipeline.startWorker(classifier, small));
    const images = fixtureImageNames().map(readFixtureImage);
    const keys = Array.from({ length: 8 }, (_, i) => `uploads/soak/${i}.jpg`);
    // Six rounds of rewrites of every key, each while the workers are busy with the last.
    for (let round = 0; round < 6; round++) {
      await Promise.all(
        keys.map((key, i) =>
          pipeline.upload(key, Buffer.concat([images[(i + round) % images.length]!, Buffer.from([round])])),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    await pipeline.aws.notificationsDelivered();
    await pipeline.waitFor('every event handled', () => pipeline.queueIsEmpty(), 120_000);
    for (const key of keys) {
      const { etag } = await pipeline.head(key);
      assert.equal((await pipeline.readJson(key.replace('uploads/', 'results/') + '.json')).source.etag, etag, key);
    }
  });

  describe('writeResultInOrder', () => {
    it('replaces an older version’s result, keeps a newer one, and decides by the object itself without two sequencers', async () => {
      pipeline = await LocalPipeline.start();
      const store = new ObjectStore(pipeline.s3);
      const bucket = pipeline.aws.bucket;
      const key = 'uploads/order/a.jpg';
      const resultKey = 'results/order/a.jpg.json';
      const write = (etag: string, sequencer?: string) =>
        writeResultInOrder(store, bucket, resultKey, resultFor(bucket, key, etag), {
          etag,
          ...(sequencer ? { sequencer } : {}),
        });
      const sourceEtagOf = async () => (await pipeline.readJson(resultKey)).source.etag as string;

      assert.equal(await write('v2', '0000000000000020'), 'stored');
      assert.equal(await write('v1', '0000000000000010'), 'older', 'an older sequencer');
      assert.equal(await sourceEtagOf(), 'v2');
      assert.equal(await write('v3', '0000000000000030'), 'stored', 'a newer sequencer');
      assert.equal(await sourceEtagOf(), 'v3');
      assert.equal(await write('v3', '0000000000000030'), 'stored', 'the same event again: its result is stored');

      // No sequencer on one side: the version the object has now is the newest.
      await pipeline.upload(key, 'the object');
      const current = (await pipeline.head(key)).etag;
      assert.equal(await write('v0'), 'older', 'not the object’s ETag');
      assert.equal(await write(current), 'stored', 'the object’s ETag');
      assert.equal(await sourceEtagOf(), current);
    });

    it('writes nothing when the same version’s result by the same fingerprint is stored, unless a newer event brought the same bytes', async () => {
      pipeline = await LocalPipeline.start();
      const store = new ObjectStore(pipeline.s3);
      const bucket = pipeline.aws.bucket;
      const key = 'uploads/order/c.jpg';
      const resultKey = 'results/order/c.jpg.json';
      const write = (etag: string, sequencer?: string) =>
        writeResultInOrder(store, bucket, resultKey, resultFor(bucket, key, etag), {
          etag,
          ...(sequencer ? { sequencer } : {}),
        });
      const resultEtag = async () => (await pipeline.head(resultKey)).etag;

      assert.equal(await write('A', '0000000000000010'), 'stored');
      const first = await resultEtag();
      // A write S3 made whose answer was lost, retried; a message delivered twice (a job's record has no sequencer).
      assert.equal(await write('A', '0000000000000010'), 'stored');
      assert.equal(await write('A'), 'stored');
      assert.equal(await resultEtag(), first, 'not written again');
      // The same bytes uploaded again (a newer event) are written: a late event of a version in between is then older.
      assert.equal(await write('A', '0000000000000030'), 'stored');
      assert.notEqual(await resultEtag(), first, 'the newer event’s result is written');
      assert.equal(await write('B', '0000000000000020'), 'older');
      assert.equal((await pipeline.readJson(resultKey)).source.etag, 'A');
    });

    it('reads again and decides again when the result changed after it was read (a lost race)', async () => {
      pipeline = await LocalPipeline.start();
      const store = new ObjectStore(pipeline.s3);
      const bucket = pipeline.aws.bucket;
      const resultKey = 'results/order/b.jpg.json';
      const write = (etag: string, sequencer: string, alreadyRead?: Parameters<typeof writeResultInOrder>[5]) =>
        writeResultInOrder(
          store,
          bucket,
          resultKey,
          resultFor(bucket, 'uploads/order/b.jpg', etag),
          { etag, sequencer },
          alreadyRead,
        );
      // Both read "no result yet"; the newer writes first; the older's If-None-Match fails, it reads again and stops.
      assert.equal(await write('new', '0000000000000020', { stored: undefined }), 'stored');
      assert.equal(await write('old', '0000000000000010', { stored: undefined }), 'older');
      assert.equal((await pipeline.readJson(resultKey)).source.etag, 'new');
      // A stale read of an older result: the If-Match fails, the newer result is seen, nothing is written.
      const stale = await store.existingResult(bucket, resultKey);
      assert.equal(await write('newest', '0000000000000030', { stored: stale }), 'stored');
      assert.equal(await write('middle', '0000000000000025', { stored: stale }), 'older');
      assert.equal((await pipeline.readJson(resultKey)).source.etag, 'newest');
    });
  });
});
