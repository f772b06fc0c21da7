import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { StandInClassifier } from '../../../bench/stand-in-classifier.js';
import { redriveDeadLetters } from '../../../cli/redrive/dead-letter-redrive.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { JobStore } from '../../../pipeline/jobs/job-store.js';
import { newJobId } from '../../../pipeline/jobs/job-table.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { runCli } from '../../helpers/run-cli.js';

/**
 * A job whose image fails on every receive the queue allows: its message goes to the DLQ, and the
 * job says so (`jobs status`: one in the DLQ) rather than only "one remaining"; redriven and
 * processed, the image leaves the DLQ count and the job completes. The embedded S3 answers the
 * image's downloads 503 (a transient failure) until the test lets it through.
 */
describe('a job’s images in the dead-letter queue', () => {
  const failing = { key: 'uploads/dlq/1.jpg', on: true };
  const classifier = new StandInClassifier(32);
  let pipeline: LocalPipeline;
  let worker: QueueConsumer | undefined;
  let env: NodeJS.ProcessEnv;
  let store: JobStore;

  before(async () => {
    pipeline = await LocalPipeline.start({
      maxReceiveCount: 2,
      faultInjector: ({ method, key }) => (failing.on && method === 'GET' && key === failing.key ? 503 : undefined),
    });
    env = { ...pipeline.aws.environment() };
    store = new JobStore(pipeline.dynamo, pipeline.aws.jobsTable);
    for (let i = 0; i < 3; i++)
      await pipeline.upload(
        `uploads/dlq/${i}.jpg`,
        await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 60 * i, g: 80, b: 90 } } })
          .jpeg()
          .toBuffer(),
      );
    await pipeline.drainQueue();
  });
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
  });

  it('counts an image whose last receive failed as in the DLQ, and out of it once redriven and stored', async () => {
    const submitted = await runCli(['submit', 'uploads/dlq/'], { env });
    assert.equal(submitted.status, 0, submitted.stderr);
    const jobId = /^job (job-\S+)$/m.exec(submitted.stdout)![1]!;
    worker = pipeline.startWorker(classifier, { jobsTable: pipeline.aws.jobsTable });

    await pipeline.waitFor(
      'the failing image in the DLQ',
      async () => (await pipeline.depth(pipeline.aws.dlqUrl)).visible === 1,
      60_000,
    );
    const stuck = (await store.get(jobId))!;
    assert.deepEqual([stuck.done, stuck.stored, stuck.deadLettered, stuck.state], [2, 2, 1, 'enqueued']);
    const status = await runCli(['jobs', 'status', jobId], { env });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, /in the DLQ\s*│\s*1 \(of remaining: .*`redrive` sends them back\)/);
    const json = JSON.parse((await runCli(['jobs', 'status', jobId, '--format', 'json'], { env })).stdout);
    assert.deepEqual([json.remaining, json.deadLettered], [1, 1]);

    failing.on = false;
    const report = await redriveDeadLetters({
      sqs: pipeline.sqs,
      queueUrl: pipeline.aws.queueUrl,
      deadLetterQueueUrl: pipeline.aws.dlqUrl,
    });
    assert.equal(report.moved, 1);
    await pipeline.waitFor('the job completed', async () => (await store.get(jobId))?.completionEvent === 'sent');
    const done = (await store.get(jobId))!;
    assert.deepEqual([done.done, done.stored, done.deadLettered, done.state], [3, 3, 0, 'completed']);
  });

  it('counts an image once whatever order its last try and its result come in', async () => {
    const jobId = newJobId();
    await store.create({ id: jobId, source: { bucket: 'b', prefix: 'p/' }, manifestKey: 'm', createdAt: new Date() });
    await store.listingFinished(jobId, 3, 300);
    const image = (n: number) => ({ bucket: 'b', key: `p/${n}.jpg`, etag: `e${n}` });
    assert.equal(await store.markLastTry(jobId, image(1)), true);
    assert.equal(await store.markLastTry(jobId, image(1)), false, 'a second last try of the same image');
    assert.equal(await store.markLastTry(jobId, image(2)), true);
    assert.equal((await store.get(jobId))!.deadLettered, 2);
    // Image 1 is counted after its last try (it succeeded, or was redriven); image 3 had none.
    assert.deepEqual(
      await store.countImages(jobId, [
        { image: image(1), outcome: 'stored' },
        { image: image(3), outcome: 'errors' },
      ]),
      ['counted', 'counted'],
    );
    assert.equal(await store.markLastTry(jobId, image(3), new Date()), false, 'counted: no last try any more');
    let job = (await store.get(jobId))!;
    assert.deepEqual([job.done, job.stored, job.errors, job.deadLettered], [2, 1, 1, 1]);
    // The redelivery of image 1, and image 2 redriven.
    assert.deepEqual(
      await store.countImages(jobId, [
        { image: image(1), outcome: 'stored' },
        { image: image(2), outcome: 'stored' },
      ]),
      ['already-counted', 'counted'],
    );
    job = (await store.get(jobId))!;
    assert.deepEqual([job.done, job.stored, job.deadLettered], [3, 2, 0]);
  });
});
