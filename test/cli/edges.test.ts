import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../common/aws-clients.js';
import { endWithThisProcess } from '../../common/child-processes.js';
import { startLocalServe, type LocalServeProcess } from '../../local/local-serve-process.js';
import { cliEntry, runCli, withoutAwsCredentials } from '../helpers/run-cli.js';
import { fixtureImagesDirectory, readFixtureImage } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

describe('the CLI at its edges, against local --serve', () => {
  let serve: LocalServeProcess;
  let folder: string;
  let env: Record<string, string>;
  let s3: ReturnType<typeof createS3Client>;

  before(async () => {
    folder = temporaryFolder('alexnet-edges-');
    env = { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') };
    serve = await startLocalServe([], env);
    const e = serve.environment;
    s3 = createS3Client({
      endpoint: e.AWS_ENDPOINT_URL!,
      region: e.AWS_REGION!,
      credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID!, secretAccessKey: e.AWS_SECRET_ACCESS_KEY! },
    });
  });
  after(async () => {
    s3?.destroy();
    await serve?.stop();
  });

  it('prints per-run credentials, keeps them in a state file only its owner reads, and refuses a second serve for it', async () => {
    assert.match(serve.environment.AWS_ACCESS_KEY_ID!, /^ALEXLOCAL[0-9A-F]{16}$/);
    assert.notEqual(serve.environment.AWS_SECRET_ACCESS_KEY, 'local');
    assert.equal((await stat(env.ALEXNET_LOCAL_STATE_FILE!)).mode & 0o777, 0o600);
    const second = await runCli(['local', '--serve'], { env });
    assert.equal(second.status, 1);
    assert.match(
      second.stderr,
      new RegExp(
        `^error: a local pipeline is already running for .* \\(pid ${serve.child.pid}, http://127\\.0\\.0\\.1:\\d+\\): stop it with Ctrl-C`,
        'm',
      ),
    );
  });

  it('refuses another access key, saying which credentials this run takes', async () => {
    const e = serve.environment;
    const intruder = await runCli(
      [
        'status',
        '--bucket',
        e.BUCKET_NAME!,
        '--queue-url',
        e.QUEUE_URL!,
        '--dlq-url',
        e.DLQ_URL!,
        '--endpoint-url',
        e.AWS_ENDPOINT_URL!,
        '--region',
        e.AWS_REGION!,
      ],
      {
        env: { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' },
      },
    );
    assert.equal(intruder.status, 1);
    assert.match(
      intruder.stderr,
      /^error: access denied by http:\/\/127\.0\.0\.1:\d+: use --local, or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY that this run of `local --serve` printed$/m,
    );
  });

  it('shows keys with terminal escapes as text in upload and results output (table and CSV)', async () => {
    const hostile = path.join(folder, 'hostile');
    await mkdir(hostile);
    await writeFile(path.join(hostile, 'cat\x1b[2J\x1b]0;owned\x07.jpg'), readFixtureImage('chelsea.jpg'));
    const upload = await runCli(['upload', '--local', hostile, '--prefix', 'hostile/'], { env });
    assert.equal(upload.status, 0, upload.stderr);
    assert.match(upload.stdout, /cat\\x1b\[2J\\x1b\]0;owned\\x07\.jpg/);
    for (const format of ['table', 'csv']) {
      const results = await runCli(
        ['results', '--local', 'hostile/', '--wait', '--timeout', '60', '--format', format],
        { env },
      );
      assert.equal(results.status, 0, results.stderr);
      assert.ok(!results.stdout.includes('\x1b'), `${format}: no raw escape reaches the terminal`);
      assert.match(results.stdout, /cat\\x1b\[2J/);
    }
  });

  it('lists a key with a carriage return byte for byte, so its result is found', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: serve.environment.BUCKET_NAME,
        Key: 'uploads/cr/line\rbreak.jpg',
        Body: readFixtureImage('coffee.jpg'),
      }),
    );
    const run = await runCli(['results', '--local', 'cr/', '--wait', '--timeout', '60', '--format', 'json'], { env });
    assert.equal(run.status, 0, run.stderr);
    const [row] = JSON.parse(run.stdout);
    assert.equal(row.status, 'ok');
    assert.equal(row.source.key, 'uploads/cr/line\rbreak.jpg');
  });

  it('stores the result of an upload key too long to mirror at a short key, as an error result that results finds', async () => {
    const key = `uploads/long/${'k'.repeat(1024 - 'uploads/long/'.length - 4)}.jpg`;
    assert.equal(Buffer.byteLength(key), 1024);
    await s3.send(
      new PutObjectCommand({ Bucket: serve.environment.BUCKET_NAME, Key: key, Body: readFixtureImage('coffee.jpg') }),
    );
    const run = await runCli(['results', '--local', key, '--wait', '--timeout', '60', '--format', 'json'], { env });
    assert.equal(run.status, 2, `an error result: exit 2 ${run.stderr}`);
    const result = JSON.parse(run.stdout);
    assert.deepEqual([result.status, result.error.code], ['error', 'KEY_TOO_LONG']);
    const listing = await runCli(['results', '--local', 'long/', '--format', 'json'], { env });
    assert.equal(JSON.parse(listing.stdout)[0].error.code, 'KEY_TOO_LONG');
  });

  it('shows a corrupt result as one unreadable row and lists the rest', async () => {
    await runCli(
      [
        'upload',
        '--local',
        path.join(fixtureImagesDirectory, 'coffee.jpg'),
        path.join(fixtureImagesDirectory, 'chelsea.jpg'),
        '--prefix',
        'corrupt/',
      ],
      { env },
    );
    await runCli(['results', '--local', 'corrupt/', '--wait', '--timeout', '60'], { env });
    await s3.send(
      new PutObjectCommand({
        Bucket: serve.environment.BUCKET_NAME,
        Key: 'results/corrupt/coffee.jpg.json',
        Body: '{"this is": not json',
      }),
    );
    const run = await runCli(['results', '--local', 'corrupt/'], { env });
    assert.equal(run.status, 2, `an unreadable result: exit 2 ${run.stderr}`);
    assert.match(run.stdout, /uploads\/corrupt\/coffee\.jpg\s+│ unreadable/);
    assert.match(run.stdout, /uploads\/corrupt\/chelsea\.jpg\s+│ ok/);
  });

  it('accepts the s3:// URI upload prints, and refuses another bucket’s', async () => {
    const upload = await runCli(
      ['upload', '--local', path.join(fixtureImagesDirectory, 'astronaut.jpg'), '--prefix', 'uri/'],
      { env },
    );
    const uri = upload.stdout.trim().split(' ').at(-1)!;
    assert.match(uri, /^s3:\/\//);
    const run = await runCli(['results', '--local', uri, '--wait', '--timeout', '60', '--format', 'json'], { env });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).source.key, 'uploads/uri/astronaut.jpg');
    const other = await runCli(['results', '--local', 's3://someone-elses-bucket/uploads/x.jpg'], { env });
    assert.match(
      other.stderr,
      /^error: s3:\/\/someone-elses-bucket\/uploads\/x\.jpg names bucket someone-elses-bucket, which is neither the pipeline's bucket \(alexnet-pipeline-local\) nor one of its source buckets/m,
    );
  });

  it('says at once that a key was never uploaded, even with --wait', async () => {
    const started = Date.now();
    const run = await runCli(['results', '--local', 'never/uploaded.jpg', '--wait', '--timeout', '60'], { env });
    assert.equal(run.status, 3);
    assert.match(run.stderr, /^error: uploads\/never\/uploaded\.jpg was never uploaded/m);
    assert.ok(Date.now() - started < 20_000);
  });

  it('never blocks on a FIFO named like an image, follows links to files with a loop guard, and says what it skipped', async () => {
    const files = path.join(folder, 'special');
    await mkdir(files);
    spawnSync('mkfifo', [path.join(files, 'pipe.jpg')]);
    await writeFile(path.join(folder, 'real.jpg'), readFixtureImage('chelsea.jpg'));
    await symlink(path.join(folder, 'real.jpg'), path.join(files, 'linked.jpg'));
    await symlink(files, path.join(files, 'loop'));
    const upload = await runCli(['upload', '--local', files, '--prefix', 'special/'], { env, timeoutMs: 30_000 });
    assert.equal(upload.status, 0, upload.stderr);
    assert.match(upload.stdout, /uploads\/special\/linked\.jpg/);
    assert.doesNotMatch(upload.stdout, /pipe\.jpg/);
    assert.match(upload.stderr, /pipe\.jpg.*not a regular file/);
    assert.match(upload.stderr, /loop.*a loop/);
    const classify = await runCli(['classify', path.join(files, 'pipe.jpg')], { timeoutMs: 30_000 });
    assert.equal(classify.status, 2);
    assert.equal(JSON.parse(classify.stdout).error.code, 'READ_FAILED');
  });
});

describe('the CLI’s error paths (each: one line, a fix, no stack trace)', () => {
  const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at /);

  it('checks --out before the work: a folder, or a folder that does not exist', async () => {
    const folder = temporaryFolder('alexnet-out-');
    const intoFolder = await runCli(['classify', fixtureImagesDirectory, '--out', folder]);
    assert.equal(intoFolder.status, 1);
    assert.match(intoFolder.stderr, /^error: --out .* is a folder: name a file/m);
    const missing = await runCli(['local', '--out', path.join(folder, 'nope', 'r.jsonl')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^error: --out .*: the folder .*nope does not exist; create it first$/m);
    noStack(intoFolder.stderr + missing.stderr);
  });

  it('ends quietly when stdout closes early (classify | head -2)', async () => {
    const child = endWithThisProcess(
      spawn(process.execPath, [cliEntry, 'classify', fixtureImagesDirectory], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let lines = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      lines += chunk.split('\n').length - 1;
      if (lines >= 2) child.stdout.destroy();
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE/);
  });

  it('names what to set without a region, and only suggests local --serve for a loopback endpoint', async () => {
    const home = temporaryFolder('alexnet-home-');
    const clean = {
      HOME: home,
      AWS_REGION: '',
      AWS_DEFAULT_REGION: '',
      AWS_CONFIG_FILE: path.join(home, 'none'),
      AWS_ACCESS_KEY_ID: 'x',
      AWS_SECRET_ACCESS_KEY: 'y',
    };
    const region = await runCli(
      [
        'status',
        '--bucket',
        'b',
        '--queue-url',
        'https://sqs.eu-west-1.amazonaws.com/1/q',
        '--dlq-url',
        'https://sqs.eu-west-1.amazonaws.com/1/d',
      ],
      { env: clean, cwd: home },
    );
    assert.match(region.stderr, /^error: no AWS region: set AWS_REGION, pass --region/m);
    const remote = await runCli(
      [
        'status',
        '--bucket',
        'b',
        '--queue-url',
        'http://q',
        '--dlq-url',
        'http://d',
        '--endpoint-url',
        'http://nonexistent.invalid',
        '--region',
        'eu-west-1',
      ],
      { env: { ...clean, AWS_MAX_ATTEMPTS: '1' }, cwd: home },
    );
    assert.match(
      remote.stderr,
      /^error: cannot reach http:\/\/nonexistent\.invalid \(ENOTFOUND\): check your network/m,
    );
    assert.doesNotMatch(remote.stderr, /local --serve/);
    noStack(region.stderr + remote.stderr);
  });

  it('says a model that is not ONNX is not ONNX, without protobuf internals', async () => {
    const file = path.join(temporaryFolder('alexnet-model-'), 'model.onnx');
    await writeFile(file, Buffer.from([0x0f, 0xff, 0xff, 0xff, 0x0f, 0x07, 0x07]));
    const run = await runCli(['classify', path.join(fixtureImagesDirectory, 'coffee.jpg'), '--model', file]);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^error: .*model\.onnx is not an ONNX model \(its bytes do not parse as ONNX's protobuf\)$/m,
    );
    assert.doesNotMatch(run.stderr, /wire type/);
  });

  it('says how to get the CUDA provider when --device cuda cannot work, with no raw onnxruntime line', async () => {
    const run = await runCli(['classify', path.join(fixtureImagesDirectory, 'coffee.jpg'), '--device', 'cuda']);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^error: --device cuda: the CUDA provider is not installed; install it on a machine with an NVIDIA GPU .*or use --device auto or cpu$/m,
    );
    assert.doesNotMatch(run.stderr, /Failed to load library|\[E:onnxruntime/);
  });

  it('says an empty folder has no images in an error line, not a log line', async () => {
    const empty = temporaryFolder('alexnet-empty-');
    const run = await runCli(['classify', empty]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: no image files in .*alexnet-empty-\w+ \(images end in jpg, jpeg/m);
  });

  it('prints its version, and takes --profile as the AWS CLI does', async () => {
    const version = await runCli(['--version']);
    assert.equal(
      version.stdout.trim(),
      JSON.parse(await readFile(path.join(cliEntry, '..', '..', '..', 'package.json'), 'utf8')).version,
    );
    const help = await runCli(['status', '--help']);
    assert.match(help.stdout, /--profile <name>/);
    const home = temporaryFolder('alexnet-home-');
    const missing = await runCli(
      [
        'status',
        '--profile',
        'nosuchprofile',
        '--region',
        'eu-west-1',
        '--bucket',
        'b',
        '--queue-url',
        'https://sqs.eu-west-1.amazonaws.com/1/q',
        '--dlq-url',
        'https://sqs.eu-west-1.amazonaws.com/1/d',
      ],
      {
        env: withoutAwsCredentials(home),
      },
    );
    assert.equal(missing.status, 1);
    assert.match(
      missing.stderr,
      /^error: no AWS credentials for profile nosuchprofile: check it in ~\/\.aws\/config and ~\/\.aws\/credentials/m,
    );
  });
});
