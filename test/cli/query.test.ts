import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../common/aws-clients.js';
import { startLocalServe, type LocalServeProcess } from '../../local/local-serve-process.js';
import { runCli } from '../helpers/run-cli.js';
import { fixtureImagesDirectory, readFixtureImage } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

/** The debug line `query` logs after loading: how many results it downloaded and took from its cache. */
function loadedFigures(stderr: string): { rows: number; downloaded: number; fromCache: number } {
  const line = stderr.split('\n').find((text) => text.includes('"results loaded"'));
  assert.ok(line, `no "results loaded" line in ${stderr}`);
  return JSON.parse(line);
}

describe('query against local --serve', () => {
  let serve: LocalServeProcess;
  let env: Record<string, string>;
  let s3: ReturnType<typeof createS3Client>;

  before(async () => {
    const folder = temporaryFolder('alexnet-query-');
    env = { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json'), ALEXNET_CACHE_DIR: path.join(folder, 'cache') };
    serve = await startLocalServe([], env);
    const e = serve.environment;
    s3 = createS3Client({
      endpoint: e.AWS_ENDPOINT_URL!,
      region: e.AWS_REGION!,
      credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID!, secretAccessKey: e.AWS_SECRET_ACCESS_KEY! },
    });
    const files = ['chelsea.jpg', 'coffee.jpg', 'astronaut.jpg'].map((name) => path.join(fixtureImagesDirectory, name));
    assert.equal((await runCli(['upload', '--local', ...files, '--prefix', 'photos/'], { env })).status, 0);
    await s3.send(
      new PutObjectCommand({ Bucket: e.BUCKET_NAME, Key: 'uploads/photos/broken.jpg', Body: 'not an image' }),
    );
    assert.equal(
      (await runCli(['results', '--local', 'photos/', '--wait', '--timeout', '120'], { env })).status,
      2,
      'broken.jpg is an error result',
    );
  });
  after(async () => {
    s3?.destroy();
    await serve?.stop();
  });

  it('answers SQL as JSON rows, says the labels are untrained, and reads each result once: the second query downloads nothing', async () => {
    const debug = { ...env, LOG_LEVEL: 'debug' };
    const first = await runCli(
      ['query', '--local', 'SELECT key, status, error_code FROM results ORDER BY key', '--format', 'json'],
      { env: debug },
    );
    assert.equal(first.status, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), [
      { key: 'uploads/photos/astronaut.jpg', status: 'ok', error_code: null },
      { key: 'uploads/photos/broken.jpg', status: 'error', error_code: 'NOT_AN_IMAGE' },
      { key: 'uploads/photos/chelsea.jpg', status: 'ok', error_code: null },
      { key: 'uploads/photos/coffee.jpg', status: 'ok', error_code: null },
    ]);
    assert.deepEqual(loadedFigures(first.stderr), {
      ...loadedFigures(first.stderr),
      rows: 4,
      downloaded: 4,
      fromCache: 0,
    });

    const second = await runCli(
      ['query', '--local', 'SELECT top_label, count(*) AS n FROM results GROUP BY 1', '--format', 'json'],
      { env: debug },
    );
    assert.equal(second.status, 0, second.stderr);
    assert.deepEqual(loadedFigures(second.stderr), {
      ...loadedFigures(second.stderr),
      rows: 4,
      downloaded: 0,
      fromCache: 4,
    });
    assert.match(second.stderr, /UNTRAINED weights/);

    // A changed result is read again; the rest come from the cache.
    await s3.send(
      new PutObjectCommand({
        Bucket: serve.environment.BUCKET_NAME,
        Key: 'results/photos/zz-corrupt.jpg.json',
        Body: '{"not": json',
      }),
    );
    const third = await runCli(
      [
        'query',
        '--local',
        "SELECT key, status, error_message FROM results WHERE status = 'unreadable'",
        '--format',
        'json',
      ],
      { env: debug },
    );
    assert.equal(third.status, 0, third.stderr);
    assert.deepEqual(loadedFigures(third.stderr), {
      ...loadedFigures(third.stderr),
      rows: 5,
      downloaded: 1,
      fromCache: 4,
    });
    const [unreadable] = JSON.parse(third.stdout);
    assert.equal(unreadable.key, 'uploads/photos/zz-corrupt.jpg');
    assert.match(unreadable.error_message, /^not JSON/);
  });

  it('prints a table or CSV, with control characters in keys shown, not obeyed', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: serve.environment.BUCKET_NAME,
        Key: 'uploads/esc/a\x1b[2Jb.jpg',
        Body: readFixtureImage('coffee.jpg'),
      }),
    );
    assert.equal((await runCli(['results', '--local', 'esc/', '--wait', '--timeout', '120'], { env })).status, 0);
    const csv = await runCli(
      ['query', '--local', "SELECT key, status FROM results WHERE key LIKE 'uploads/esc/%'", '--format', 'csv'],
      { env },
    );
    assert.equal(csv.status, 0, csv.stderr);
    assert.equal(csv.stdout, 'key,status\nuploads/esc/a\\x1b[2Jb.jpg,ok\n');
    const table = await runCli(['query', '--local', "SELECT key FROM results WHERE key LIKE 'uploads/esc/%'"], { env });
    assert.doesNotMatch(table.stdout, /\x1b/);
    assert.match(table.stdout, /a\\x1b\[2Jb\.jpg/);
    assert.match(table.stdout, /\(1 row\)/);
  });

  it('--prefix reads one folder only; a folder without results says so (exit 3)', async () => {
    const one = await runCli(
      ['query', '--local', '--prefix', 'esc/', 'SELECT count(*) AS n FROM results', '--format', 'json'],
      { env },
    );
    assert.deepEqual(JSON.parse(one.stdout), [{ n: 1 }]);
    const none = await runCli(['query', '--local', '--prefix', 'nothing/', 'SELECT 1'], { env });
    assert.equal(none.status, 3);
    assert.match(none.stderr, /^error: no results below results\/nothing\/ in alexnet-pipeline-local yet/m);
  });

  it('bad SQL and refused statements: exit 1, one line from DuckDB, no stack trace, nothing written', async () => {
    const bad = await runCli(['query', '--local', 'SELEC * FROM results'], { env });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: DuckDB: Parser Error: syntax error at or near "SELEC"\n$/m);
    assert.equal(bad.stderr.split('\n').filter((line) => line.startsWith('error:')).length, 1);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
    const outside = path.join(tmpdir(), `alexnet-copy-${process.pid}.csv`);
    const copy = await runCli(['query', '--local', `COPY results TO '${outside}'`], { env });
    assert.equal(copy.status, 1);
    assert.match(copy.stderr, /^error: DuckDB: .*(disabled|external access)/im);
    assert.doesNotMatch(copy.stderr, /\n\s+at /);
    assert.equal(existsSync(outside), false);
  });

  it('--engine athena needs a deployed stack', async () => {
    const run = await runCli(['query', '--local', '--engine', 'athena', 'SELECT 1'], { env });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /--engine athena needs a deployed stack/);
  });
});
