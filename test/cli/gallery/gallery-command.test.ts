import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { endWithThisProcess } from '../../../common/child-processes.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { cliEntry, runCli } from '../../helpers/run-cli.js';

describe('alexnet-pipeline gallery', () => {
  let pipeline: LocalPipeline;
  let environment: Record<string, string>;
  before(async () => {
    pipeline = await LocalPipeline.start();
    await pipeline.upload('uploads/cats/a.jpg', 'bytes');
    await pipeline.upload('uploads/dogs/b.jpg', 'bytes');
    environment = { ...pipeline.aws.environment(), ALEXNET_LOCAL_STATE_FILE: '/nonexistent/state.json' };
  });
  after(() => pipeline.aws.stop());

  it('serves any target given by flags or variables, prints its URL with a token, and stops on Ctrl-C', async (t) => {
    const child = endWithThisProcess(
      spawn(process.execPath, [cliEntry, 'gallery', '--prefix', 'cats'], {
        env: { ...process.env, ...environment },
        cwd: tmpdir(),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    child.stdout.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        const match = /^Gallery: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32})$/m.exec(output);
        if (match) resolve(match[1]!);
      });
      child.once('exit', (code) => reject(new Error(`gallery exited with ${code}: ${output}`)));
    });
    assert.match(output, /images below alexnet-pipeline-local\/uploads\/cats\//);
    const { origin, searchParams } = new URL(url);
    const token = searchParams.get('token')!;
    let keys: string[] = [];
    for (let attempt = 0; attempt < 50 && keys.length === 0; attempt += 1) {
      const changes = (await (
        await fetch(`${origin}/api/cards?since=0`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { cards: Array<{ key: string }> };
      keys = changes.cards.map((card) => card.key);
      if (keys.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(keys, ['uploads/cats/a.jpg'], 'only the chosen folder');
    assert.equal((await fetch(`${origin}/api/cards?since=0`)).status, 401);
    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
  });

  it('stops with a message naming the option for a bad folder or a busy port, and without a target', async () => {
    const badFolder = await runCli(['gallery', '--prefix', 'cats/../../results'], { env: environment, cwd: tmpdir() });
    assert.equal(badFolder.status, 1);
    assert.match(
      badFolder.stderr,
      /^error: --prefix "cats\/\.\.\/\.\.\/results" is not a folder below the uploads prefix/m,
    );
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    let taken;
    try {
      const port = (busy.address() as { port: number }).port;
      taken = await runCli(['gallery', '--port', String(port)], { env: environment, cwd: tmpdir() });
      assert.equal(taken.status, 1);
      assert.match(taken.stderr, new RegExp(`^error: port ${port} is in use: pick another with --port`, 'm'));
    } finally {
      busy.close();
    }
    const badPort = await runCli(['gallery', '--port', '70000'], { env: environment, cwd: tmpdir() });
    assert.match(badPort.stderr, /option '--port <port>' argument '70000' is invalid/);
    const none = await runCli(['gallery'], {
      env: { ALEXNET_LOCAL_STATE_FILE: '/nonexistent/state.json', BUCKET_NAME: '' },
      cwd: tmpdir(),
    });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^error: no pipeline to talk to: pass --local/m);
    for (const run of [badFolder, taken, badPort, none]) assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  });
});
