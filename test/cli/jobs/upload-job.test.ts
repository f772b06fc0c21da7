import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { StandInClassifier } from '../../../bench/stand-in-classifier.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { textPretendingToBeAnImage } from '../../helpers/image-factories.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { mockedCompletionEvents } from '../../helpers/completion-events.js';
import { runCli } from '../../helpers/run-cli.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

/**
 * `upload --job`: a laptop's folder as one job. The objects carry the job id in their metadata; S3's
 * notification (the emulator's, as S3 sends it: no metadata) brings each to the worker, which reads
 * the job from the object and counts it — the same progress and one completion event as `submit`.
 */
describe('upload --job: an upload as one job', () => {
  const classifier = new StandInClassifier(32);
  const folder = temporaryFolder('alexnet-upload-job-');
  let pipeline: LocalPipeline;
  let worker: QueueConsumer;
  let env: NodeJS.ProcessEnv;
  const { events, completed } = mockedCompletionEvents();

  before(async () => {
    for (let i = 0; i < 5; i++) {
      const jpeg = await sharp({
        create: { width: 30, height: 20, channels: 3, background: { r: i * 50, g: 9, b: 9 } },
      })
        .jpeg()
        .toBuffer();
      writeFileSync(path.join(folder, `${i}.jpg`), jpeg);
    }
    writeFileSync(path.join(folder, 'broken.jpg'), textPretendingToBeAnImage);
    pipeline = await LocalPipeline.start();
    env = { ...pipeline.aws.environment() };
    worker = pipeline.startWorker(
      classifier,
      { jobsTable: pipeline.aws.jobsTable, eventBusName: 'default' },
      { events },
    );
  });
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
  });

  it('counts each upload in its job as its notification arrives, and sends one completion event', async () => {
    const run = await runCli(['upload', '--job', '--wait', '--timeout', '60', '--prefix', 'batch/', folder], {
      env,
    });
    assert.equal(run.status, 2, `exit 2: one error result\n${run.stdout}${run.stderr}`);
    const jobId = /^job (job-\S+)$/m.exec(run.stdout)?.[1];
    assert.ok(jobId, run.stdout);
    assert.match(run.stdout, /uploaded 6 images .* as job/);
    assert.match(run.stdout, /completed: 5 stored, 1 error results, 0 skipped of 6 images/);
    await pipeline.waitFor('its event', async () => completed().length >= 1);
    const status = JSON.parse((await runCli(['jobs', 'status', jobId, '--format', 'json'], { env })).stdout);
    assert.deepEqual([status.state, status.total, status.stored, status.errors], ['completed', 6, 5, 1]);
    assert.deepEqual([completed()[0].jobId, completed()[0].prefix], [jobId, 'uploads/batch/']);
    assert.deepEqual((await pipeline.listKeys('_jobs/')).length, 1, 'its manifest');

    // The same files again: every result is stored already (same ETag and settings), and each
    // upload still counts in the new job — the worker reads its job from the object.
    const again = await runCli(['upload', '--job', '--wait', '--timeout', '60', '--prefix', 'batch/', folder], {
      env,
    });
    assert.match(again.stdout, /completed: 5 stored, 1 error results, 0 skipped of 6 images .*\(6 already stored/);
    await pipeline.waitFor('the second event', async () => completed().length >= 2);
    await pipeline.waitFor('the workers idle', async () => worker.messagesInFlight === 0);
    assert.equal(completed().length, 2, 'one event per job');
  });

  it('says in one line what is wrong, and uploads nothing', async () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['upload', '--wait', folder], env, /--wait and --timeout follow a job: add --job/],
      [['upload', '--job', '--prefix', 'nojobs/', folder], { ...env, JOBS_TABLE: '' }, /no jobs table/],
    ];
    for (const [args, environment, expected] of cases) {
      const run = await runCli(args, { env: environment });
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, expected);
    }
    assert.deepEqual(await pipeline.listKeys('uploads/nojobs/'), []);
  });
});
