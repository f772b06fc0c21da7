import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { StandInClassifier } from '../../../bench/stand-in-classifier.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { JobStore } from '../../../pipeline/jobs/job-store.js';
import { RESULT_METADATA } from '../../../pipeline/result-document.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { runCli } from '../../helpers/run-cli.js';

/**
 * `submit --stale`: after a model change, only the images whose result is missing, or was computed
 * for other bytes or with another fingerprint, are enqueued — compared with the fingerprint the
 * workers record in the jobs table as they start.
 */
describe('submit --stale: only what a worker would compute again', () => {
  const classifier = new StandInClassifier(32);
  let pipeline: LocalPipeline;
  let worker: QueueConsumer | undefined;
  let env: NodeJS.ProcessEnv;
  const jpeg = (shade: number) =>
    sharp({ create: { width: 30, height: 20, channels: 3, background: { r: shade, g: 40, b: 90 } } })
      .jpeg()
      .toBuffer();
  const startWorker = () => pipeline.startWorker(classifier, { jobsTable: pipeline.aws.jobsTable });

  before(async () => {
    pipeline = await LocalPipeline.start();
    env = { ...pipeline.aws.environment() };
    for (let i = 0; i < 6; i++) await pipeline.upload(`uploads/archive/${i}.jpg`, await jpeg(i * 40));
  });
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
  });

  it('needs a fingerprint to compare with: none recorded yet is one line, nothing enqueued', async () => {
    const run = await runCli(['submit', '--stale', 'archive/'], { env });
    assert.equal(run.status, 1, run.stderr);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /no worker has recorded its fingerprint yet.*run `alexnet-pipeline smoke`.*--fingerprint/);
    const alone = await runCli(['submit', '--fingerprint', 'f'.repeat(32), 'archive/'], { env });
    assert.match(alone.stderr, /--fingerprint is what --stale compares with: add --stale/);
    const bad = await runCli(['submit', '--stale', '--fingerprint', 'tuesday', 'archive/'], { env });
    assert.match(bad.stderr, /must be a result fingerprint: 32 hexadecimal digits/);
  });

  it('enqueues nothing when every result is current, then exactly the missing, overwritten and other-model ones', async () => {
    worker = startWorker();
    await pipeline.waitFor('the six results', async () => (await pipeline.listKeys('results/archive/')).length === 6);
    const store = new JobStore(pipeline.dynamo, pipeline.aws.jobsTable);
    await pipeline.waitFor('the worker’s fingerprint', async () => (await store.workerFingerprint()) !== undefined);
    assert.equal((await store.workerFingerprint())!.fingerprint, worker.fingerprint);
    await pipeline.waitFor('the workers idle', async () => worker!.messagesInFlight === 0 && pipeline.queueIsEmpty());

    const current = await runCli(['submit', '--stale', 'archive/'], { env });
    assert.equal(current.status, 0, current.stderr);
    assert.match(current.stdout, /all 6 images below .* have a current result: nothing enqueued/);
    assert.match(current.stderr, new RegExp(`comparing with fingerprint ${worker.fingerprint}`));
    assert.deepEqual(await pipeline.depth(), { visible: 0, inFlight: 0 });

    // Three stale results, their notifications gone: an image overwritten, a result deleted, and a
    // result of another model (another fingerprint in its metadata).
    await worker.stop();
    await pipeline.upload('uploads/archive/0.jpg', await jpeg(250));
    await pipeline.drainQueue();
    await pipeline.s3.send(new DeleteObjectCommand({ Bucket: pipeline.aws.bucket, Key: 'results/archive/1.jpg.json' }));
    const other = await pipeline.s3.send(
      new GetObjectCommand({ Bucket: pipeline.aws.bucket, Key: 'results/archive/2.jpg.json' }),
    );
    await pipeline.s3.send(
      new PutObjectCommand({
        Bucket: pipeline.aws.bucket,
        Key: 'results/archive/2.jpg.json',
        Body: await other.Body!.transformToString(),
        Metadata: { ...other.Metadata, [RESULT_METADATA.fingerprint]: 'f'.repeat(32) },
      }),
    );

    const dryRun = await runCli(['submit', '--stale', '--dry-run', 'archive/'], { env });
    assert.match(dryRun.stdout, /3 images whose result is missing or stale \(3 current\)/);
    worker = startWorker();
    const classifiedBefore = worker.stats.classified;
    const stale = await runCli(['submit', '--stale', 'archive/', '--wait', '--timeout', '60'], { env });
    assert.equal(stale.status, 0, stale.stdout + stale.stderr);
    assert.match(stale.stderr, /listed 3 images .* whose result is missing or stale \(3 current, not enqueued\)/);
    assert.match(stale.stdout, /completed: 3 stored, 0 error results, 0 skipped of 3 images/);
    assert.equal(worker.stats.classified - classifiedBefore, 3, 'only the stale ones computed');
    const again = await runCli(['submit', '--stale', 'archive/'], { env });
    assert.match(again.stdout, /all 6 images .* have a current result/);
  });
});
