import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { StandInClassifier } from '../../../bench/stand-in-classifier.js';
import { jobMessageBody, type ListedImage } from '../../../pipeline/jobs/job-messages.js';
import { JobStore } from '../../../pipeline/jobs/job-store.js';
import { listObjects } from '../../../pipeline/s3-operations.js';
import { textPretendingToBeAnImage } from '../../helpers/image-factories.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { mockedCompletionEvents } from '../../helpers/completion-events.js';
import { runCli } from '../../helpers/run-cli.js';

/**
 * `submit` as a user runs it (the CLI in its own process) over images already in the bucket — their
 * notifications long gone — with the container's worker in this process counting them in the
 * embedded DynamoDB, and EventBridge an aws-sdk-client-mock answering PutEvents in its documented shape.
 * The worker decodes every image but its classifier is the benchmarks' stand-in (fixed labels, no
 * network run): what is tested here is the job, not the labels.
 */
describe('submit: a job over images already in the bucket', () => {
  const IMAGES = 30;
  const classifier = new StandInClassifier(32);
  let pipeline: LocalPipeline;
  let worker: QueueConsumer | undefined;
  let env: NodeJS.ProcessEnv;
  const { events, completed: completedEvents } = mockedCompletionEvents();

  before(async () => {
    pipeline = await LocalPipeline.start();
    env = { ...pipeline.aws.environment() };
    for (let i = 0; i < IMAGES; i++) {
      const jpeg = await sharp({
        create: { width: 40, height: 30, channels: 3, background: { r: i * 8, g: 90, b: 200 - i * 5 } },
      })
        .jpeg()
        .toBuffer();
      await pipeline.upload(`uploads/archive/${String(i).padStart(2, '0')}.jpg`, jpeg);
    }
    await pipeline.upload('uploads/archive/broken.jpg', textPretendingToBeAnImage);
    await pipeline.upload('uploads/archive/notes.txt', 'not an image');
    await pipeline.upload('uploads/only-notes/readme.txt', 'not an image either');
    // As if they had been there before the pipeline: no notification is waiting for them.
    await pipeline.drainQueue();
  });
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
  });

  it('enqueues every image once, refuses the prefix again while it runs, counts each result exactly and sends one completion event', async () => {
    const dryRun = await runCli(['submit', '--dry-run', 'archive/'], { env });
    assert.equal(dryRun.status, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /uploads\/archive\/: 31 images, .* \(32 objects listed\)/);
    assert.match(dryRun.stdout, /nothing enqueued \(--dry-run\)/);
    assert.deepEqual(await pipeline.depth(), { visible: 0, inFlight: 0 });

    const first = await runCli(['submit', 'uploads/archive/'], { env });
    assert.equal(first.status, 0, first.stderr);
    const jobId = /^job (job-\S+)$/m.exec(first.stdout)?.[1];
    assert.ok(jobId, first.stdout);
    assert.match(first.stdout, /enqueued 31 images of job/);
    // Ten records per message: 31 images are four messages.
    assert.deepEqual(await pipeline.depth(), { visible: 4, inFlight: 0 });

    const again = await runCli(['submit', 'archive/'], { env });
    assert.equal(again.status, 1);
    assert.match(again.stderr, new RegExp(`already has a running job, ${jobId}`));
    assert.deepEqual(await pipeline.depth(), { visible: 4, inFlight: 0 }, 'nothing more enqueued');

    worker = pipeline.startWorker(
      classifier,
      { jobsTable: pipeline.aws.jobsTable, eventBusName: 'default' },
      { events },
    );
    const waited = await runCli(['submit', '--resume', jobId, '--wait', '--timeout', '90'], { env });
    assert.match(waited.stdout, /has all 31 images on the queue already/);
    assert.match(waited.stdout, /completed: 30 stored, 1 error results, 0 skipped of 31 images/);
    assert.equal(waited.status, 2, 'exit 2: some images ended as error results');

    const results = await pipeline.listKeys('results/archive/');
    assert.equal(results.length, 31);
    assert.equal((await pipeline.readJson('results/archive/broken.jpg.json')).status, 'error');

    // Redelivered records (a message seen twice, a redrive) do not move the counts or send a second event.
    const listed: ListedImage[] = (await listObjects(pipeline.s3, pipeline.aws.bucket, 'uploads/archive/0'))
      .slice(0, 10)
      .map((object) => ({
        bucket: pipeline.aws.bucket,
        key: object.key,
        etag: object.etag,
        size: object.size,
        lastModified: new Date().toISOString(),
      }));
    await pipeline.sendMessage(jobMessageBody(jobId, listed, 'us-east-1'));
    await pipeline.sendMessage(jobMessageBody(jobId, listed, 'us-east-1'));
    await pipeline.waitFor('the redeliveries handled', () => pipeline.queueIsEmpty());
    await pipeline.waitFor('the workers idle', async () => worker!.messagesInFlight === 0);

    const status = await runCli(['jobs', 'status', jobId, '--format', 'json'], { env });
    assert.equal(status.status, 0, status.stderr);
    const document = JSON.parse(status.stdout);
    assert.deepEqual(
      [
        document.state,
        document.total,
        document.stored,
        document.errors,
        document.skipped,
        document.alreadyStored,
        document.remaining,
      ],
      ['completed', 31, 30, 1, 0, 0, 0],
    );
    const completed = completedEvents();
    assert.equal(completed.length, 1, 'exactly one Job Completed event');
    assert.deepEqual(
      [
        completed[0].jobId,
        completed[0].total,
        completed[0].stored,
        completed[0].errors,
        completed[0].alreadyStored,
        completed[0].prefix,
      ],
      [jobId, 31, 30, 1, 0, 'uploads/archive/'],
    );
    // Its prefix is free again.
    const list = await runCli(['jobs', 'list'], { env });
    assert.match(list.stdout, new RegExp(`${jobId} .* completed`));
    const store = new JobStore(pipeline.dynamo, pipeline.aws.jobsTable);
    assert.equal((await store.get(jobId))?.completionEvent, 'sent');

    // Its prefix is free again; a second job over it finds every result stored (not recomputed)
    // and counts each as what its stored result says.
    const second = await runCli(['submit', 'archive/', '--wait', '--timeout', '90'], { env });
    assert.match(
      second.stdout,
      /completed: 30 stored, 1 error results, 0 skipped of 31 images in \S+ s \(31 already stored by the same model and settings, not computed again\)/,
    );
    assert.equal(second.status, 2);
    assert.equal(worker!.stats.duplicates, 31 + 20, 'the second job and the redeliveries recomputed nothing');
    // --wait ends when every image has its result; the event follows from the worker.
    await pipeline.waitFor('the second job’s event', async () => completedEvents().length >= 2);
    await pipeline.waitFor('the workers idle', async () => worker!.messagesInFlight === 0);
    assert.equal(completedEvents().length, 2, 'one event per job');
    assert.equal(completedEvents()[1].alreadyStored, 31, 'the second job computed nothing');
  });

  it('says what is wrong in one line, and enqueues nothing, for bad input', async () => {
    await pipeline.drainQueue();
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['submit', 'uploads/nothing-here/'], env, /nothing below s3:\/\/.*\/uploads\/nothing-here\/: no job made/],
      [['submit', 'only-notes/'], env, /no images below .*only-notes\/: 1 object\(s\), none ending in jpg/],
      [
        ['submit', 's3://someone-elses-bucket/photos/'],
        env,
        /the workers may not read s3:\/\/someone-elses-bucket\/: deploy the stack with .*-c sourceBuckets=someone-elses-bucket/,
      ],
      [['submit', 'uploads/archive/'], { ...env, JOBS_TABLE: '' }, /no jobs table/],
      [
        ['submit', 'uploads/archive/'],
        { ...env, JOBS_TABLE: 'no-such-table' },
        /the jobs table no-such-table does not exist/,
      ],
      [['jobs', 'status', 'job-20200101T000000Z-00000000'], env, /no job job-20200101T000000Z-00000000/],
      [['jobs', 'status', 'tuesday'], env, /"tuesday" is not a job id/],
      [['submit', '--resume', 'job-20200101T000000Z-00000000'], env, /no job job-20200101T000000Z-00000000/],
    ];
    const runs = await Promise.all(cases.map(([args, environment]) => runCli(args, { env: environment })));
    for (const [index, [args, , expected]] of cases.entries()) {
      const run = runs[index]!;
      assert.equal(run.status, 1, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args.join(' ')}: one line, got ${run.stderr}`);
      assert.match(lines[0]!, expected);
      assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    }
    assert.deepEqual(await pipeline.depth(), { visible: 0, inFlight: 0 }, 'nothing enqueued');
  });
});
