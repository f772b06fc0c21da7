import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { StandInClassifier } from '../../../bench/stand-in-classifier.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { jobMessageBody } from '../../../pipeline/jobs/job-messages.js';
import { listObjects } from '../../../pipeline/s3-operations.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { runCli } from '../../helpers/run-cli.js';

/**
 * Jobs over images that are not uploads: in another bucket the pipeline was told it may read
 * (`--source-buckets` here, `-c sourceBuckets` on AWS), and in the pipeline's bucket outside the
 * uploads prefix. Their results land below `results/_buckets/<bucket>/`, and `results` and `query`
 * find them by the image's s3:// name.
 */
describe('submit: images in a source bucket and outside the uploads prefix', () => {
  const classifier = new StandInClassifier(32);
  let pipeline: LocalPipeline;
  let worker: QueueConsumer;
  let env: NodeJS.ProcessEnv;
  const jpeg = (shade: number) =>
    sharp({ create: { width: 32, height: 24, channels: 3, background: { r: shade, g: 80, b: 160 } } })
      .jpeg()
      .toBuffer();

  before(async () => {
    pipeline = await LocalPipeline.start({ sourceBuckets: ['my-archive', 'other-archive'] });
    env = { ...pipeline.aws.environment() };
    for (const [index, key] of ['photos/a.jpg', 'photos/b.jpg', 'photos/2019/c.jpg', 'photos/notes.txt'].entries())
      await pipeline.s3.send(
        new PutObjectCommand({
          Bucket: 'my-archive',
          Key: key,
          Body: key.endsWith('.txt') ? 'x' : await jpeg(index * 40),
        }),
      );
    await pipeline.s3.send(new PutObjectCommand({ Bucket: 'other-archive', Key: 'd.jpg', Body: await jpeg(200) }));
    await pipeline.upload('scans/e.jpg', await jpeg(220));
    await pipeline.upload('scans/f.jpg', await jpeg(240));
    worker = pipeline.startWorker(classifier, { jobsTable: pipeline.aws.jobsTable });
  });
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
  });

  it('labels them into results/_buckets/<bucket>/, and results and query find them', async () => {
    const archived = await runCli(['submit', 's3://my-archive/photos/', '--wait', '--timeout', '60'], { env });
    assert.equal(archived.status, 0, archived.stdout + archived.stderr);
    assert.match(archived.stdout, /completed: 3 stored, 0 error results, 0 skipped of 3 images/);
    const bucket = pipeline.aws.bucket;
    const outside = await runCli(['submit', `s3://${bucket}/scans/`, '--wait', '--timeout', '60'], { env });
    assert.equal(outside.status, 0, outside.stdout + outside.stderr);
    assert.match(outside.stdout, /completed: 2 stored/);

    assert.deepEqual((await pipeline.listKeys('results/')).sort(), [
      `results/_buckets/${bucket}/scans/e.jpg.json`,
      `results/_buckets/${bucket}/scans/f.jpg.json`,
      'results/_buckets/my-archive/photos/2019/c.jpg.json',
      'results/_buckets/my-archive/photos/a.jpg.json',
      'results/_buckets/my-archive/photos/b.jpg.json',
    ]);
    const document = await pipeline.readJson('results/_buckets/my-archive/photos/2019/c.jpg.json');
    assert.deepEqual(
      [document.status, document.source.bucket, document.source.key],
      ['ok', 'my-archive', 'photos/2019/c.jpg'],
    );

    const one = await runCli(['results', 's3://my-archive/photos/a.jpg', '--format', 'json'], { env });
    assert.equal(one.status, 0, one.stderr);
    assert.deepEqual(
      [JSON.parse(one.stdout).source.bucket, JSON.parse(one.stdout).source.key],
      ['my-archive', 'photos/a.jpg'],
    );
    const byResultKey = await runCli(['results', 'results/_buckets/my-archive/photos/b.jpg.json', '--format', 'json'], {
      env,
    });
    assert.equal(JSON.parse(byResultKey.stdout).source.key, 'photos/b.jpg');
    const folder = await runCli(['results', 's3://my-archive/photos/', '--format', 'csv'], { env });
    assert.equal(folder.status, 0, folder.stderr);
    for (const name of ['s3://my-archive/photos/a.jpg', 's3://my-archive/photos/2019/c.jpg'])
      assert.ok(folder.stdout.includes(name), `${name} in\n${folder.stdout}`);
    const missing = await runCli(['results', 's3://my-archive/photos/zzz.jpg'], { env });
    assert.match(missing.stderr, /s3:\/\/my-archive\/photos\/zzz.jpg does not exist/);

    const counted = await runCli(
      ['query', '--format', 'json', 'SELECT bucket, count(*) AS images FROM results GROUP BY bucket ORDER BY bucket'],
      { env },
    );
    assert.equal(counted.status, 0, counted.stderr);
    assert.deepEqual(JSON.parse(counted.stdout), [
      { bucket, images: 2 },
      { bucket: 'my-archive', images: 3 },
    ]);
    const below = await runCli(
      ['query', '--format', 'json', '--prefix', 's3://my-archive/photos/2019/', 'SELECT key FROM results'],
      {
        env,
      },
    );
    assert.deepEqual(JSON.parse(below.stdout), [{ key: 'photos/2019/c.jpg' }]);
  });

  it('a worker reads only the buckets it was given: a job record naming another is skipped, not read', async () => {
    const [image] = await listObjects(pipeline.s3, 'other-archive', '');
    const narrow = pipeline.startWorker(classifier, { sourceBuckets: 'my-archive' });
    await worker.stop();
    try {
      const before = narrow.stats.skipped;
      await pipeline.sendMessage(
        jobMessageBody(
          'job-20261206T000000Z-0000abcd',
          [
            {
              bucket: 'other-archive',
              key: image!.key,
              etag: image!.etag,
              size: image!.size,
              lastModified: new Date().toISOString(),
            },
          ],
          'us-east-1',
        ),
      );
      await pipeline.waitFor('the record skipped', async () => narrow.stats.skipped > before);
      assert.deepEqual(await pipeline.listKeys('results/_buckets/other-archive/'), []);
    } finally {
      await narrow.stop();
      worker = pipeline.startWorker(classifier, { jobsTable: pipeline.aws.jobsTable });
    }
  });

  it('refuses, in one line, a bucket it may not read and the pipeline’s own folders', async () => {
    const bucket = pipeline.aws.bucket;
    const cases: Array<[string, RegExp]> = [
      [
        's3://someone-elses-bucket/photos/',
        /the workers may not read s3:\/\/someone-elses-bucket\/: deploy the stack with `npx cdk deploy -c sourceBuckets=my-archive,other-archive,someone-elses-bucket`.*s3:GetObject/,
      ],
      [`s3://${bucket}/results/`, /is in the pipeline's results folder \(results\/\)/],
      [`s3://${bucket}/_jobs/`, /is in the pipeline's jobs' manifests folder/],
      [`s3://${bucket}/uploads/_buckets/x/`, /is in a reserved folder of the uploads prefix/],
    ];
    const runs = await Promise.all(cases.map(([source]) => runCli(['submit', source], { env })));
    for (const [index, [source, expected]] of cases.entries()) {
      const run = runs[index]!;
      assert.equal(run.status, 1, `${source}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, expected);
    }
  });
});
