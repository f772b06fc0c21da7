import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startLocalServe, type LocalServeProcess } from '../../local/local-serve-process.js';
import { runCli } from '../helpers/run-cli.js';
import { fixtureImagesDirectory } from '../helpers/shared-fixtures.js';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

describe('local --serve --no-worker with the worker run as the container runs it', () => {
  let serve: LocalServeProcess;
  let worker: WorkerProcess;
  let cliEnvironment: Record<string, string>;

  before(async () => {
    const folder = temporaryFolder('alexnet-standalone-');
    cliEnvironment = { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') };
    serve = await startLocalServe(['--no-worker'], cliEnvironment);
    // Exactly the printed exports, nothing else from the test.
    worker = spawnWorker({ ...serve.environment, RECEIVE_WAIT_SECONDS: '1' });
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    assert.equal((await worker.exited).code, 0);
    assert.equal(await serve.stop(), 0);
  });

  it('prints how to run the worker, and the worker it starts that way classifies uploads', async () => {
    assert.match(serve.banner, /with no worker \(--no-worker\)/);
    assert.match(serve.banner, /node dist\/functions\/worker\/main\.js/);
    for (const name of ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'BUCKET_NAME', 'QUEUE_URL', 'DLQ_URL', 'UPLOADS_PREFIX', 'RESULTS_PREFIX']) {
      assert.ok(serve.environment[name], `${name} is exported`);
    }
    const upload = await runCli(['upload', '--local', path.join(fixtureImagesDirectory, 'chelsea.jpg')], { env: cliEnvironment });
    assert.equal(upload.status, 0, upload.stderr);
    const result = await runCli(['results', '--local', 'chelsea.jpg', '--wait', '--timeout', '60', '--format', 'json'], { env: cliEnvironment });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).status, 'ok');
    assert.match(worker.logs(), /"msg":"batch classified"/);
  });

  it('refuses --no-worker without --serve, naming both', async () => {
    const run = await runCli(['local', '--no-worker']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: --no-worker needs --serve/m);
  });
});
