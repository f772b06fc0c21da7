import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { objectCreatedEvent } from '../../local/s3-notification.js';
import { startLocalServe, type LocalServeProcess } from '../../local/local-serve-process.js';
import { jsonLines, runCli } from '../helpers/run-cli.js';
import { fixtureImageNames, fixtureImagesDirectory } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

describe('alexnet-pipeline local', () => {
  it('classifies the fixtures through embedded S3 and SQS, prints a table and writes JSONL', async () => {
    const folder = temporaryFolder('alexnet-local-');
    const out = path.join(folder, 'results.jsonl');
    const run = await runCli(['local', fixtureImagesDirectory, '--out', out]);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.split('\n');
    assert.match(run.stdout, /UNTRAINED weights/);
    const header = lines.findIndex((line) => /^image\s+top label\s+score\s+latency$/.test(line));
    assert.ok(header >= 0, run.stdout);
    const rows = lines.slice(header + 1).filter((line) => /\d+ ms$/.test(line));
    assert.deepEqual(rows.map((row) => row.split(/\s+/)[0]).sort(), fixtureImageNames());
    for (const row of rows) assert.match(row, /\s0\.\d{3}\s+\d+ ms$/);
    assert.match(run.stdout, new RegExp(`5 results \\(0 errors\\) written to ${out.replace(/[.]/g, '\\.')}`));
    const results = jsonLines(await readFile(out, 'utf8'));
    assert.equal(results.length, 5);
    for (const result of results) {
      assert.equal(result.status, 'ok');
      assert.equal(result.model.pretrained, false);
      assert.equal(result.source.bucket, 'alexnet-pipeline-local');
    }
  });

  it('exits 2 and says which image failed when one is corrupt', async () => {
    const folder = temporaryFolder('alexnet-local-bad-');
    await writeFile(path.join(folder, 'broken.jpg'), 'not a jpeg');
    const run = await runCli([
      'local',
      folder,
      path.join(fixtureImagesDirectory, 'coffee.jpg'),
      '--out',
      path.join(folder, 'r.jsonl'),
    ]);
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stdout, /broken\.jpg\s+error NOT_AN_IMAGE/);
    assert.match(run.stdout, /^2 results \(1 error\) written to .*r\.jsonl$/m);
  });

  it('names a missing path in one line and exits 1, before starting anything', async () => {
    const run = await runCli(['local', '/no/such/folder']);
    assert.equal(run.status, 1);
    assert.equal(run.stderr, 'error: /no/such/folder does not exist\n', 'that line alone: no model was loaded');
  });
});

describe('alexnet-pipeline local --serve with upload, results, status and redrive', () => {
  let serve: LocalServeProcess;
  let environment: Readonly<Record<string, string>>;
  let folder: string;
  const cliEnv = () => ({ ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') });

  before(async () => {
    folder = temporaryFolder('alexnet-serve-');
    serve = await startLocalServe([], cliEnv());
    environment = serve.environment;
    assert.match(serve.banner, /Local pipeline running at http:\/\/127\.0\.0\.1:\d+/);
  });

  after(() => serve?.stop());

  it('uploads, then waits for and shows results as table, json and csv', async () => {
    const upload = await runCli(['upload', '--local', fixtureImagesDirectory, '--prefix', 'cats/'], { env: cliEnv() });
    assert.equal(upload.status, 0, upload.stderr);
    assert.equal(upload.stdout.trim().split('\n').length, 5);
    assert.match(upload.stdout, /uploaded s3:\/\/alexnet-pipeline-local\/uploads\/cats\/chelsea\.jpg/);

    const one = await runCli(
      ['results', '--local', 'cats/chelsea.jpg', '--wait', '--timeout', '60', '--format', 'json'],
      { env: cliEnv() },
    );
    assert.equal(one.status, 0, one.stderr);
    const document = JSON.parse(one.stdout);
    assert.equal(document.source.key, 'uploads/cats/chelsea.jpg');
    assert.equal(document.status, 'ok');

    const table = await runCli(['results', '--local', 'cats/', '--wait', '--timeout', '60'], { env: cliEnv() });
    assert.equal(table.status, 0, table.stderr);
    for (const name of fixtureImageNames())
      assert.match(table.stdout, new RegExp(`uploads/cats/${name.replace('.', '\\.')}.*ok`));
    assert.match(table.stdout, /UNTRAINED weights/);

    const csv = await runCli(['results', '--local', 'cats/', '--format', 'csv'], { env: cliEnv() });
    assert.equal(csv.status, 0, csv.stderr);
    const csvLines = csv.stdout.trim().split('\n');
    assert.equal(csvLines[0], 'image,status,top_label,score,device,processed_at');
    assert.equal(csvLines.length, 6);
  });

  it('names a bucket that does not exist', async () => {
    const run = await runCli(
      [
        'upload',
        path.join(fixtureImagesDirectory, 'coffee.jpg'),
        '--bucket',
        'no-such-bucket',
        '--endpoint-url',
        environment.AWS_ENDPOINT_URL!,
        '--region',
        'us-east-1',
      ],
      {
        env: {
          AWS_ACCESS_KEY_ID: environment.AWS_ACCESS_KEY_ID!,
          AWS_SECRET_ACCESS_KEY: environment.AWS_SECRET_ACCESS_KEY!,
        },
      },
    );
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: bucket no-such-bucket does not exist at http:\/\/127\.0\.0\.1:\d+/m);
  });

  it('says there is no result yet, or no such upload, with exit 3', async () => {
    const missing = await runCli(['results', '--local', 'never/uploaded.jpg'], { env: cliEnv() });
    assert.equal(missing.status, 3);
    assert.match(missing.stderr, /^error: uploads\/never\/uploaded\.jpg was never uploaded/m);
  });

  it('reports status, and redrive moves a dead-lettered message back so its image gets a result', async () => {
    const upload = await runCli(
      ['upload', '--local', path.join(fixtureImagesDirectory, 'astronaut.jpg'), '--prefix', 'redrive/'],
      { env: cliEnv() },
    );
    assert.equal(upload.status, 0, upload.stderr);
    const first = await runCli(
      ['results', '--local', 'redrive/astronaut.jpg', '--wait', '--timeout', '60', '--format', 'json'],
      { env: cliEnv() },
    );
    const { source } = JSON.parse(first.stdout);

    // Force the image's event into the DLQ, as if every attempt had failed, and drop its result.
    const clientOptions = {
      endpoint: environment.AWS_ENDPOINT_URL,
      region: environment.AWS_REGION,
      credentials: { accessKeyId: environment.AWS_ACCESS_KEY_ID!, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY! },
    };
    await createS3Client(clientOptions).send(
      new DeleteObjectCommand({ Bucket: environment.BUCKET_NAME, Key: 'results/redrive/astronaut.jpg.json' }),
    );
    const rule = { id: 'forced', bucket: environment.BUCKET_NAME!, prefix: '', suffixes: [''] };
    const event = objectCreatedEvent({
      rule,
      region: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      key: source.key,
      size: source.size,
      eTag: source.etag,
    });
    await createSqsClient(clientOptions).send(
      new SendMessageCommand({ QueueUrl: environment.DLQ_URL, MessageBody: event }),
    );

    const status = await runCli(['status', '--local', '--format', 'json'], { env: cliEnv() });
    assert.equal(status.status, 0, status.stderr);
    const before = JSON.parse(status.stdout);
    assert.equal(before.deadLetterQueue.messages, 1);
    assert.equal(before.uploads, 6);
    assert.equal(before.results, 5);

    const redrive = await runCli(['redrive', '--local'], { env: cliEnv() });
    assert.equal(redrive.status, 0, redrive.stderr);
    assert.match(redrive.stdout, /moved 1 message from the dead-letter queue to the queue/);
    const astronaut = await runCli(
      ['results', '--local', 'redrive/astronaut.jpg', '--wait', '--timeout', '60', '--format', 'json'],
      { env: cliEnv() },
    );
    assert.equal(astronaut.status, 0, astronaut.stderr);
    assert.equal(JSON.parse(astronaut.stdout).status, 'ok');
    const after = JSON.parse((await runCli(['status', '--local', '--format', 'json'], { env: cliEnv() })).stdout);
    assert.equal(after.deadLetterQueue.messages, 0);
  });

  // Last: the counts of the status test above do not include these uploads.
  it('exits 2 from results, with or without --wait, when an image could not be classified (as local does)', async () => {
    const broken = path.join(folder, 'broken.jpg');
    await writeFile(broken, 'not a jpeg');
    assert.equal(
      (
        await runCli(
          ['upload', '--local', broken, path.join(fixtureImagesDirectory, 'coffee.jpg'), '--prefix', 'mixed/'],
          { env: cliEnv() },
        )
      ).status,
      0,
    );
    const waited = await runCli(['results', '--local', 'mixed/', '--wait', '--timeout', '60'], { env: cliEnv() });
    assert.equal(waited.status, 2, waited.stderr);
    assert.match(waited.stdout, /uploads\/mixed\/broken\.jpg\s+│ error/);
    assert.equal((await runCli(['results', '--local', 'mixed/broken.jpg'], { env: cliEnv() })).status, 2);
    assert.equal((await runCli(['results', '--local', 'mixed/coffee.jpg'], { env: cliEnv() })).status, 0);
  });

  it('stops cleanly on Ctrl-C: exit 0', async () => {
    assert.equal(await serve.stop(), 0);
  });
});

describe('local --serve takes its state file atomically', () => {
  it('of two started in the same moment, exactly one runs and the other is refused, naming it', async () => {
    const stateFile = path.join(temporaryFolder('alexnet-two-serves-'), 'state.json');
    const attempts = await Promise.allSettled([
      startLocalServe(['--no-worker'], { ALEXNET_LOCAL_STATE_FILE: stateFile }),
      startLocalServe(['--no-worker'], { ALEXNET_LOCAL_STATE_FILE: stateFile }),
    ]);
    const running = attempts.flatMap((attempt) => (attempt.status === 'fulfilled' ? [attempt.value] : []));
    try {
      assert.equal(running.length, 1, 'one runs');
      const refused = attempts.find((attempt) => attempt.status === 'rejected') as PromiseRejectedResult;
      assert.match(
        String(refused.reason),
        new RegExp(`error: a local pipeline is already running for .*state\\.json \\(pid ${running[0]!.child.pid}, `),
      );
      assert.equal(
        JSON.parse(await readFile(stateFile, 'utf8')).pid,
        running[0]!.child.pid,
        'the state file names the one that runs',
      );
    } finally {
      for (const serve of running) await serve.stop();
    }
    assert.equal(existsSync(stateFile), false, 'and it goes with it');
  });

  it('takes over a state file left by a process that is gone', async () => {
    const stateFile = path.join(temporaryFolder('alexnet-stale-serve-'), 'state.json');
    await writeFile(stateFile, JSON.stringify({ pid: 2 ** 22 + 1, starting: true }));
    const serve = await startLocalServe(['--no-worker'], { ALEXNET_LOCAL_STATE_FILE: stateFile });
    try {
      assert.equal(JSON.parse(await readFile(stateFile, 'utf8')).pid, serve.child.pid);
    } finally {
      await serve.stop();
    }
  });
});

describe('CLI commands without a target', () => {
  it('explains how to pick a pipeline', async () => {
    const run = await runCli(['status'], {
      env: { ALEXNET_LOCAL_STATE_FILE: '/nonexistent/state.json', BUCKET_NAME: '', QUEUE_URL: '' },
      cwd: tmpdir(),
    });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: no pipeline to talk to: pass --local/m);
  });

  it('says when no local pipeline is running', async () => {
    const run = await runCli(['status', '--local'], { env: { ALEXNET_LOCAL_STATE_FILE: '/nonexistent/state.json' } });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: no local pipeline is running/m);
  });

  it('says an endpoint is unreachable in one line', async () => {
    const run = await runCli(
      [
        'status',
        '--bucket',
        'b',
        '--queue-url',
        'http://127.0.0.1:9/q',
        '--dlq-url',
        'http://127.0.0.1:9/d',
        '--endpoint-url',
        'http://127.0.0.1:9',
        '--region',
        'us-east-1',
      ],
      {
        env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_MAX_ATTEMPTS: '1' },
      },
    );
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/m);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
