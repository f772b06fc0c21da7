import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createS3Client, createSqsClient } from '../../../common/aws-clients.js';
import { silentLogger } from '../../../common/logger.js';
import { projectRoot } from '../../../common/paths.js';
import { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { objectCreatedEvent } from '../../../local/s3-notification.js';
import { ImageClassifier } from '../../../model/index.js';
import { textPretendingToBeAnImage, truncated } from '../../helpers/image-factories.js';
import { FAST_WORKER_ENVIRONMENT, LocalPipeline } from '../../helpers/local-pipeline.js';
import { fixtureImageNames, readFixtureImage } from '../../helpers/shared-fixtures.js';

const rule = { id: 'test', bucket: 'alexnet-pipeline-local', prefix: '', suffixes: [''] };
const eventFor = (key: string, eTag = 'etag-0', size = 10) => objectCreatedEvent({ rule, region: 'us-east-1', eventName: 'ObjectCreated:Put', key, size, eTag });

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
    const errorKeys = { 'results/bad/truncated.jpg.json': 'CORRUPT_IMAGE', 'results/bad/shopping-list.jpg.json': 'NOT_AN_IMAGE', 'results/bad/empty.png.json': 'EMPTY_FILE' };
    await pipeline.waitForKeys([...okKeys, ...Object.keys(errorKeys)]);

    for (const key of okKeys) {
      const result = await pipeline.readJson(key);
      assert.equal(result.status, 'ok', key);
      assert.equal(result.labels.length, 5);
      assert.equal(result.schemaVersion, 1);
      assert.deepEqual(result.model, classifier.model);
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
    await pipeline.waitFor('an empty queue', async () => {
      const depth = await pipeline.depth();
      return depth.visible === 0 && depth.inFlight === 0;
    });
    assert.equal(worker.stats.classified, names.length);
    assert.equal(worker.stats.errorResults, 3);
    assert.ok(worker.stats.batches < names.length + 3, 'images from several messages share batches');
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

  it('deletes the test event, skips non-images and keys outside uploads/, and sends a non-S3 body to the DLQ', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    await pipeline.upload('uploads/notes.txt', 'not an image');
    await pipeline.sendMessage(eventFor('uploads/readme.md'));
    await pipeline.sendMessage(eventFor('results/loop.jpg.json'));
    await pipeline.sendMessage(eventFor('elsewhere/photo.jpg'));
    await pipeline.sendMessage('{"hello": "this is not an S3 event"}');

    await pipeline.waitFor('the invalid message in the DLQ', async () => (await pipeline.depth(pipeline.aws.dlqUrl)).visible === 1);
    await pipeline.waitFor('an empty main queue', async () => {
      const depth = await pipeline.depth();
      return depth.visible === 0 && depth.inFlight === 0;
    });
    assert.equal(worker.stats.skipped, 3);
    assert.ok(worker.stats.invalidMessages >= 3, 'the invalid body was received until the redrive policy moved it');
    assert.deepEqual(await pipeline.listKeys('results/'), []);
  });

  it('does not recompute a duplicate event for a result with the same ETag and model', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    await pipeline.upload('uploads/dup.jpg', readFixtureImage('coffee.jpg'));
    await pipeline.waitForKeys(['results/dup.jpg.json']);
    const first = await pipeline.readJson('results/dup.jpg.json');
    const firstModified = await pipeline.lastModified('results/dup.jpg.json');
    await pipeline.waitFor('the first message deleted', async () => (await pipeline.depth()).inFlight === 0);

    await pipeline.sendMessage(eventFor('uploads/dup.jpg', first.source.etag, first.source.size));
    await pipeline.waitFor('the duplicate handled', async () => worker!.stats.duplicates === 1);
    assert.equal((await pipeline.readJson('results/dup.jpg.json')).processedAt, first.processedAt);
    assert.deepEqual(await pipeline.lastModified('results/dup.jpg.json'), firstModified);
    assert.equal(worker.stats.classified, 1);
  });

  it('in a burst of redelivered events, recomputes only the image whose ETag changed', async () => {
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier);
    const keys = ['uploads/burst/a.jpg', 'uploads/burst/b.jpg', 'uploads/burst/c.jpg'];
    await Promise.all(keys.map((key) => pipeline.upload(key, readFixtureImage('chelsea.jpg'))));
    const resultKeys = keys.map((key) => key.replace('uploads/', 'results/') + '.json');
    await pipeline.waitForKeys(resultKeys);
    await pipeline.waitFor('the first messages deleted', async () => (await pipeline.depth()).inFlight === 0);
    await worker.stop();
    const before = await Promise.all(resultKeys.map((key) => pipeline.readJson(key)));

    // Queued while no worker runs, so that one receive takes them together (one results list).
    await pipeline.sendMessage(eventFor(keys[0]!, before[0]!.source.etag, before[0]!.source.size));
    await pipeline.sendMessage(eventFor(keys[1]!, 'an-etag-from-a-newer-upload', before[1]!.source.size));
    await pipeline.sendMessage(eventFor(keys[2]!, before[2]!.source.etag, before[2]!.source.size));
    worker = pipeline.startWorker(classifier);
    await pipeline.waitFor('the three events handled', async () => worker!.stats.duplicates + worker!.stats.classified === 3);

    assert.equal(worker.stats.duplicates, 2);
    assert.equal(worker.stats.classified, 1);
    const after = await Promise.all(resultKeys.map((key) => pipeline.readJson(key)));
    assert.equal(after[0]!.processedAt, before[0]!.processedAt);
    assert.equal(after[1]!.source.etag, 'an-etag-from-a-newer-upload');
    assert.equal(after[2]!.processedAt, before[2]!.processedAt);
  });

  it('retries transient S3 failures (download, then result write) through the queue and then succeeds', async () => {
    // Two failed receives of the three the redrive policy allows; the third succeeds.
    const failures = { download: 1, resultWrite: 1 };
    pipeline = await LocalPipeline.start({
      faultInjector: ({ method, key }) => {
        if (method === 'GET' && key === 'uploads/flaky.jpg' && failures.download > 0) return failures.download--, 503;
        if (method === 'PUT' && key === 'results/flaky.jpg.json' && failures.resultWrite > 0) return failures.resultWrite--, 503;
        return undefined;
      },
    });
    const failFastS3 = createS3Client(pipeline.aws.clientOptions({ maxAttempts: 1 }));
    worker = pipeline.startWorker(classifier, {}, failFastS3);
    await pipeline.upload('uploads/flaky.jpg', readFixtureImage('astronaut.jpg'));
    await pipeline.waitForKeys(['results/flaky.jpg.json']);
    assert.equal((await pipeline.readJson('results/flaky.jpg.json')).status, 'ok');
    assert.equal(worker.stats.retried, 2);
    assert.deepEqual(failures, { download: 0, resultWrite: 0 });
    await pipeline.waitFor('the message deleted, none dead-lettered', async () => {
      const depth = await pipeline.depth();
      return depth.visible + depth.inFlight === 0 && (await pipeline.depth(pipeline.aws.dlqUrl)).visible === 0;
    });
  });

  it('moves a message that keeps failing transiently to the DLQ after maxReceiveCount, with no result', async () => {
    pipeline = await LocalPipeline.start({ faultInjector: ({ method, key }) => (method === 'GET' && key === 'uploads/down.jpg' ? 503 : undefined) });
    worker = pipeline.startWorker(classifier, {}, createS3Client(pipeline.aws.clientOptions({ maxAttempts: 1 })));
    await pipeline.upload('uploads/down.jpg', readFixtureImage('chelsea.jpg'));
    await pipeline.waitFor('the message in the DLQ', async () => (await pipeline.depth(pipeline.aws.dlqUrl)).visible === 1);
    assert.equal(worker.stats.retried, 3);
    assert.equal(await pipeline.exists('results/down.jpg.json'), false);
  });

  it('keeps a waiting message invisible with heartbeats instead of letting it be redelivered', async () => {
    pipeline = await LocalPipeline.start();
    const sqs = createSqsClient(pipeline.aws.clientOptions());
    const visibilityChanges: number[] = [];
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ChangeMessageVisibilityBatchCommand') {
          visibilityChanges.push(...((args.input as { Entries: Array<{ VisibilityTimeout: number }> }).Entries.map((entry) => entry.VisibilityTimeout)));
        }
        return next(args);
      },
      { step: 'initialize', name: 'recordVisibilityChanges' },
    );
    // One image and a long batching wait: the message sits in the worker for 3.5 s, heartbeat every 1 s.
    worker = new QueueConsumer(pipeline.workerConfig({ HEARTBEAT_INTERVAL_SECONDS: '1', MAX_WAIT_MS: '3500' }), { s3: pipeline.s3, sqs, classifier, logger: silentLogger });
    worker.start();
    await pipeline.upload('uploads/patient.jpg', readFixtureImage('coffee.jpg'));
    await pipeline.waitForKeys(['results/patient.jpg.json']);
    assert.ok(visibilityChanges.length >= 2, `heartbeats sent: ${visibilityChanges.length}`);
    assert.ok(visibilityChanges.every((seconds) => seconds === 10), 'each heartbeat extends to VISIBILITY_TIMEOUT_SECONDS');
    assert.equal(worker.stats.classified, 1);
    assert.equal(worker.stats.messages, 2, 'the test event and the image, each received once');
  });

  it('loses nothing on SIGTERM in the middle of a batch: every image ends with exactly one result', async () => {
    pipeline = await LocalPipeline.start({ visibilityTimeoutSeconds: 10 });
    const count = 48;
    const names = fixtureImageNames();
    const keys = Array.from({ length: count }, (_, i) => `uploads/burst/${String(i).padStart(3, '0')}-${names[i % names.length]}`);
    await Promise.all(keys.map((key, i) => pipeline.upload(key, readFixtureImage(names[i % names.length]!))));
    await pipeline.aws.notificationsDelivered();

    const child = spawn(process.execPath, [path.join(projectRoot, 'dist', 'functions', 'worker', 'main.js')], {
      // Few images in flight and no grace period: most messages are still queued at SIGTERM and the
      // in-flight ones are released back to the queue rather than finished.
      env: { ...process.env, ...pipeline.aws.environment(), ...FAST_WORKER_ENVIRONMENT, MAX_BATCH: '4', MAX_IMAGES_IN_FLIGHT: '8', SHUTDOWN_GRACE_SECONDS: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let logs = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
    await pipeline.waitFor('the first batch', async () => logs.includes('"batch classified"'), 60_000);
    child.kill('SIGTERM');
    const [exitCode] = await once(child, 'exit');
    assert.equal(exitCode, 0, logs.slice(-2000));
    assert.match(logs, /worker stopping/);
    const doneBeforeRestart = (await pipeline.listKeys('results/burst/')).length;
    assert.ok(doneBeforeRestart < count, 'the worker was stopped before it finished everything');

    worker = pipeline.startWorker(classifier);
    const resultKeys = keys.map((key) => key.replace(/^uploads\//, 'results/') + '.json');
    await pipeline.waitForKeys(resultKeys, 60_000);
    assert.deepEqual((await pipeline.listKeys('results/burst/')).sort(), resultKeys.sort());
    for (const key of resultKeys) assert.equal((await pipeline.readJson(key)).status, 'ok');
    await pipeline.waitFor('empty queues', async () => {
      const depth = await pipeline.depth();
      const dead = await pipeline.depth(pipeline.aws.dlqUrl);
      return depth.visible + depth.inFlight + dead.visible === 0;
    });
  });
});
