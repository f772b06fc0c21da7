import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startLocalServe, type LocalServeProcess } from '../../local/local-serve-process.js';
import { runCli } from '../helpers/run-cli.js';
import { fixtureImagesDirectory } from '../helpers/fixtures.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await sleep(20);
  }
}

describe('local --serve --no-worker with the worker run as the container runs it', () => {
  let serve: LocalServeProcess;
  let worker: WorkerProcess;
  let cliEnvironment: Record<string, string>;

  before(async () => {
    const folder = temporaryFolder('alexnet-standalone-');
    cliEnvironment = { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') };
    serve = await startLocalServe(['--no-worker'], cliEnvironment);
    // Exactly the printed exports, nothing else from the test (npm test's silencing of the AWS SDK's Node.js notice removed too).
    worker = spawnWorker({
      ...serve.environment,
      RECEIVE_WAIT_SECONDS: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: undefined,
    });
  });
  // Both are stopped whatever the tests found (a test, not this hook, checks how the worker exits:
  // Node.js 22 does not fail a run for an after hook's failed assertion).
  after(async () => {
    try {
      worker?.child.kill('SIGKILL');
    } finally {
      await serve?.stop();
    }
  });

  it('prints how to run the worker, and the worker it starts that way classifies uploads', async () => {
    assert.match(serve.banner, /with no worker \(--no-worker\)/);
    assert.match(serve.banner, /node dist\/functions\/worker\/main\.js/);
    for (const name of [
      'AWS_ENDPOINT_URL',
      'AWS_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'BUCKET_NAME',
      'QUEUE_URL',
      'DLQ_URL',
      'UPLOADS_PREFIX',
      'RESULTS_PREFIX',
    ]) {
      assert.ok(serve.environment[name], `${name} is exported`);
    }
    const upload = await runCli(['upload', '--local', path.join(fixtureImagesDirectory, 'chelsea.jpg')], {
      env: cliEnvironment,
    });
    assert.equal(upload.status, 0, upload.stderr);
    const result = await runCli(
      ['results', '--local', 'chelsea.jpg', '--wait', '--timeout', '60', '--format', 'json'],
      { env: cliEnvironment },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).status, 'ok');
    assert.match(worker.logs(), /"msg":"batch classified"/);
  });

  it('exits 0 at once when stopped while still starting (it holds no message yet)', async () => {
    const starting = spawnWorker({ ...serve.environment, RECEIVE_WAIT_SECONDS: '1' });
    try {
      await waitUntil(() => starting.logs().includes('"msg":"worker starting"'), 10_000);
      starting.child.kill('SIGTERM');
      const exit = await Promise.race([starting.exited, sleep(10_000).then(() => 'still running')]);
      assert.deepEqual(exit, { code: 0, signal: null }, starting.logs());
      assert.match(starting.logs(), /"msg":"shutdown requested while starting: nothing is in flight"/);
    } finally {
      starting.child.kill('SIGKILL');
    }
  });

  it('drains and exits 0 on SIGTERM, as ECS stops a task', async () => {
    worker.child.kill('SIGTERM');
    assert.deepEqual(await worker.exited, { code: 0, signal: null }, worker.logs().slice(-2000));
    assert.match(worker.logs(), /"msg":"worker stopped"/);
  });

  it('writes JSON log lines only, a Node.js warning included (the AWS SDK warns on Node.js 20)', async () => {
    assert.ok(worker.logLines().length > 0);
    for (const line of worker
      .logs()
      .split('\n')
      .filter((text) => text.length > 0))
      assert.doesNotThrow(() => JSON.parse(line), line);
    if (Number(process.versions.node.split('.')[0]) < 22) {
      const warning = worker.logLines().find((line) => line.msg === 'Node.js warning');
      assert.match(
        String(warning?.detail),
        /^NodeVersionSupportWarning: The AWS SDK for JavaScript \(v3\) versions published after/,
      );
    }
  });

  it('refuses --no-worker without --serve, naming both', async () => {
    const run = await runCli(['local', '--no-worker']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: --no-worker needs --serve/m);
  });
});
