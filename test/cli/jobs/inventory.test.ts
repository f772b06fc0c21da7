import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DuckDBInstance } from '@duckdb/node-api';
import sharp from 'sharp';
import { StandInClassifier } from '../../../bench/stand-in-classifier.js';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { encodeS3EventKey } from '../../../pipeline/s3-event.js';
import { listObjects } from '../../../pipeline/s3-operations.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { runCli } from '../../helpers/run-cli.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

/**
 * `submit --inventory`: the images of a job read from an S3 Inventory report instead of a listing —
 * a CSV report (gzip, keys URL-encoded, with versions: delete markers and older versions left out)
 * and a Parquet one (written by DuckDB here, with the column names S3 gives them) — and what a
 * manifest of the wrong format gets.
 */
describe('submit --inventory: an S3 Inventory report instead of a listing', () => {
  const classifier = new StandInClassifier(32);
  const reports = 'inventory-reports';
  let pipeline: LocalPipeline;
  let worker: QueueConsumer;
  let env: NodeJS.ProcessEnv;
  const put = (bucket: string, key: string, body: string | Uint8Array) =>
    pipeline.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const manifest = (fileFormat: string, fileSchema: string, files: string[]) =>
    JSON.stringify({
      sourceBucket: 'my-archive',
      destinationBucket: `arn:aws:s3:::${reports}`,
      version: '2016-11-30',
      fileFormat,
      fileSchema,
      files: files.map((key) => ({ key, size: 1, MD5checksum: 'x' })),
    });

  before(async () => {
    pipeline = await LocalPipeline.start({ sourceBuckets: ['my-archive'] });
    env = { ...pipeline.aws.environment() };
    await pipeline.s3.send(new CreateBucketCommand({ Bucket: reports }));
    const keys = ['photos/a b.jpg', 'photos/c+d.jpg', 'photos/e.jpg', 'other/f.jpg', 'photos/notes.txt'];
    for (const [index, key] of keys.entries())
      await put(
        'my-archive',
        key,
        key.endsWith('.txt')
          ? 'x'
          : await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: index * 40, g: 0, b: 0 } } })
              .jpeg()
              .toBuffer(),
      );
    const listed = await listObjects(pipeline.s3, 'my-archive', '');
    const quoted = (values: unknown[]) => values.map((value) => `"${String(value)}"`).join(',');
    // S3's CSV: no header, every field quoted, keys URL-encoded; with versions, a delete marker and
    // an older version of a key are rows too.
    const csv = [
      ...listed.map((object) =>
        quoted([
          'my-archive',
          encodeS3EventKey(object.key),
          'v2',
          'true',
          'false',
          object.size,
          '2026-12-01T10:00:00.000Z',
          object.etag,
        ]),
      ),
      quoted([
        'my-archive',
        encodeS3EventKey('photos/gone.jpg'),
        'v3',
        'true',
        'true',
        '',
        '2026-12-02T10:00:00.000Z',
        '',
      ]),
      quoted([
        'my-archive',
        encodeS3EventKey('photos/e.jpg'),
        'v1',
        'false',
        'false',
        9,
        '2026-11-01T10:00:00.000Z',
        'old',
      ]),
    ].join('\n');
    await put(reports, 'my-archive/inv/data/part-1.csv.gz', gzipSync(`${csv}\n`));
    await put(
      reports,
      'my-archive/inv/2026-12-06T01-00Z/manifest.json',
      manifest('CSV', 'Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag', [
        'my-archive/inv/data/part-1.csv.gz',
      ]),
    );
    // Parquet, written by DuckDB with S3's column names.
    const folder = temporaryFolder('alexnet-inventory-test-');
    const parquet = path.join(folder, 'part-1.parquet');
    const duck = await (await DuckDBInstance.create(':memory:')).connect();
    const values = listed
      .map(
        (o) =>
          `('my-archive', '${o.key.replaceAll("'", "''")}', ${o.size}, TIMESTAMP '2026-12-01 10:00:00', '${o.etag}')`,
      )
      .join(', ');
    await duck.run(
      `COPY (SELECT * FROM (VALUES ${values}) AS t(bucket, key, size, last_modified_date, e_tag)) TO '${parquet}' (FORMAT parquet)`,
    );
    duck.closeSync();
    await put(reports, 'my-archive/pq/data/part-1.parquet', readFileSync(parquet));
    await put(
      reports,
      'my-archive/pq/2026-12-06T01-00Z/manifest.json',
      manifest('Parquet', 'message s3.inventory { required binary bucket; … }', ['my-archive/pq/data/part-1.parquet']),
    );
    await put(reports, 'bad/orc.json', manifest('ORC', 'struct<bucket:string,key:string>', ['x.orc']));
    await put(reports, 'bad/not-json.json', 'this is not JSON');
    // Larger than any real manifest: refused from its size, before its body is read.
    await new Upload({
      client: pipeline.s3,
      params: { Bucket: reports, Key: 'bad/huge.json', Body: `{"padding": "${'x'.repeat(16 * 1024 * 1024)}"}` },
    }).done();
    worker = pipeline.startWorker(classifier, { jobsTable: pipeline.aws.jobsTable });
  });
  after(async () => {
    await worker?.stop();
    await pipeline?.stop();
  });

  it('labels what a CSV report lists below a prefix (keys decoded, delete markers and older versions left out)', async () => {
    const run = await runCli(
      [
        'submit',
        '--inventory',
        `s3://${reports}/my-archive/inv/2026-12-06T01-00Z/manifest.json`,
        's3://my-archive/photos/',
        '--wait',
        '--timeout',
        '60',
      ],
      { env },
    );
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /completed: 3 stored, 0 error results, 0 skipped of 3 images/);
    assert.deepEqual((await pipeline.listKeys('results/_buckets/my-archive/')).sort(), [
      'results/_buckets/my-archive/photos/a b.jpg.json',
      'results/_buckets/my-archive/photos/c+d.jpg.json',
      'results/_buckets/my-archive/photos/e.jpg.json',
    ]);
  });

  it('reads a Parquet report the same way', async () => {
    const run = await runCli(
      ['submit', '--dry-run', '--inventory', `s3://${reports}/my-archive/pq/2026-12-06T01-00Z/manifest.json`],
      { env },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /s3:\/\/my-archive\/: 4 images, .* \(5 objects listed\)/);
  });

  it('refuses a manifest of the wrong format, or of another bucket, in one line', async () => {
    const cases: Array<[string[], RegExp]> = [
      [
        ['--inventory', `s3://${reports}/bad/orc.json`],
        /is not an S3 Inventory manifest this can read: its files are ORC; configure the inventory as CSV or Parquet/,
      ],
      [
        ['--inventory', `s3://${reports}/bad/not-json.json`],
        /is not an S3 Inventory manifest this can read: it is not JSON/,
      ],
      [['--inventory', `s3://${reports}/bad/huge.json`], /over the 16777216 a manifest may have/],
      [
        ['--inventory', `s3://${reports}/my-archive/inv/data/part-1.csv.gz`],
        /--inventory takes s3:\/\/<bucket>\/<path>\/manifest.json/,
      ],
      [
        [
          '--inventory',
          `s3://${reports}/my-archive/inv/2026-12-06T01-00Z/manifest.json`,
          `s3://${pipeline.aws.bucket}/uploads/`,
        ],
        /is an inventory of s3:\/\/my-archive\/, not of s3:\/\//,
      ],
    ];
    for (const [args, expected] of cases) {
      const run = await runCli(['submit', ...args], { env });
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, expected);
    }
    assert.deepEqual(await pipeline.depth(), { visible: 0, inFlight: 0 }, 'nothing enqueued');
  });
});
