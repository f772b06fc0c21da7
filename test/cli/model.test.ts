import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readModelFile } from '../../model/index.js';
import { devCheckpointFile } from '../helpers/alexnet-checkpoint.js';
import { endWithThisProcess } from '../../common/child-processes.js';
import { cliEntry, runCli } from '../helpers/run-cli.js';
import { checkpointFixturesDirectory } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

/** A loopback stand-in for download.pytorch.org: serves one checkpoint under any name, or fails as told. */
describe('alexnet-pipeline model fetch and model convert', () => {
  let server: Server;
  let base: string;
  let checkpoint: Buffer;
  let sha256: string;
  let folder: string;

  before(async () => {
    checkpoint = await readFile(await devCheckpointFile());
    sha256 = createHash('sha256').update(checkpoint).digest('hex');
    folder = temporaryFolder('alexnet-fetch-');
    server = createServer((request, response) => {
      if (request.url?.includes('server-error'))
        return void response.writeHead(500, 'Internal Server Error').end('oops');
      if (request.url?.includes('endless')) {
        // No Content-Length, and no end: a megabyte at a time until the client goes.
        response.writeHead(200);
        const more = () => {
          if (!response.destroyed) response.write(Buffer.alloc(2 ** 20, 7), () => setImmediate(more));
        };
        return void more();
      }
      if (request.url?.includes('stalls')) {
        response.writeHead(200, { 'content-length': String(checkpoint.length) });
        return void response.write(checkpoint.subarray(0, 2 ** 20));
      }
      if (request.url?.includes('dropped')) {
        response.writeHead(200, { 'content-length': String(checkpoint.length) });
        response.write(checkpoint.subarray(0, 1_000_000), () => response.destroy());
        return;
      }
      response
        .writeHead(200, { 'content-length': String(checkpoint.length), 'content-type': 'application/octet-stream' })
        .end(checkpoint);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('downloads a torch.hub-named checkpoint, verifies its hash prefix, converts it and removes the checkpoint', async () => {
    const out = path.join(folder, 'fetched.onnx');
    const run = await runCli([
      'model',
      'fetch',
      '--url',
      `${base}/models/alexnet-${sha256.slice(0, 8)}.pth`,
      '--out',
      out,
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`wrote ${out}: weights pth:${sha256.slice(0, 16)}, NOT marked pretrained`));
    assert.equal((await readModelFile(out)).identity.pretrained, false);
    assert.deepEqual(
      (await import('node:fs')).readdirSync(folder).filter((name) => name.includes('checkpoint')),
      [],
      'the checkpoint is removed',
    );
  });

  it('refuses a download whose hash is not the one its name (or --sha256) promises, and writes nothing', async () => {
    const out = path.join(folder, 'wrong.onnx');
    const byName = await runCli(['model', 'fetch', '--url', `${base}/models/alexnet-deadbeef.pth`, '--out', out]);
    assert.equal(byName.status, 1);
    assert.match(
      byName.stderr,
      new RegExp(`^error: refused .*its SHA-256 is ${sha256}, expected deadbeef…; nothing was written$`, 'm'),
    );
    const byOption = await runCli([
      'model',
      'fetch',
      '--url',
      `${base}/mirror/alexnet.pth`,
      '--sha256',
      '0'.repeat(64),
      '--out',
      out,
    ]);
    assert.equal(byOption.status, 1);
    assert.match(byOption.stderr, /^error: refused .*expected 0{64}; nothing was written$/m);
    assert.equal(existsSync(out), false);
  });

  it('reports a server error and a dropped connection in one line each', async () => {
    const error = await runCli([
      'model',
      'fetch',
      '--url',
      `${base}/server-error/alexnet-${sha256.slice(0, 8)}.pth`,
      '--out',
      path.join(folder, 'e.onnx'),
    ]);
    assert.equal(error.status, 1);
    assert.match(
      error.stderr,
      /^error: http:\/\/127\.0\.0\.1:\d+\/server-error\/\S+ answered HTTP 500 Internal Server Error: nothing downloaded$/m,
    );
    const dropped = await runCli([
      'model',
      'fetch',
      '--url',
      `${base}/dropped/alexnet-${sha256.slice(0, 8)}.pth`,
      '--out',
      path.join(folder, 'd.onnx'),
    ]);
    assert.equal(dropped.status, 1);
    assert.match(
      dropped.stderr,
      /^error: the download of \S+ broke off after \d+ of \d+ bytes .*run the command again$/m,
    );
    for (const run of [error, dropped]) assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.equal(existsSync(path.join(folder, 'e.onnx')) || existsSync(path.join(folder, 'd.onnx')), false);
  });

  it('stops a download that sends more than it may, and writes nothing', async () => {
    const out = path.join(folder, 'endless.onnx');
    const endless = await runCli([
      'model',
      'fetch',
      '--url',
      `${base}/endless/alexnet-${sha256.slice(0, 8)}.pth`,
      '--out',
      out,
      '--max-bytes',
      '5000000',
    ]);
    assert.equal(endless.status, 1);
    assert.match(
      endless.stderr,
      /^error: the download of \S+ broke off after 5\d{6} bytes \(more than the 5000000 bytes accepted\); run the command again$/m,
    );
    const announced = await runCli([
      'model',
      'fetch',
      '--url',
      `${base}/models/alexnet-${sha256.slice(0, 8)}.pth`,
      '--out',
      out,
      '--max-bytes',
      '1000',
    ]);
    assert.equal(announced.status, 1, announced.stderr);
    assert.match(
      announced.stderr,
      new RegExp(
        `^error: \\S+ announces ${checkpoint.length} bytes, more than the 1000 accepted: nothing downloaded$`,
        'm',
      ),
    );
    assert.deepEqual(
      readdirSync(folder).filter((name) => name.includes('endless') || name.endsWith('.part')),
      [],
    );
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`removes the part file of a download stopped by ${signal}, and exits as the signal says`, async () => {
      const out = path.join(temporaryFolder('alexnet-fetch-signal-'), 'model.onnx');
      const child = endWithThisProcess(
        spawn(
          process.execPath,
          [cliEntry, 'model', 'fetch', '--url', `${base}/stalls/alexnet-${sha256.slice(0, 8)}.pth`, '--out', out],
          { stdio: 'ignore' },
        ),
      );
      const part = path.join(path.dirname(out), `.checkpoint-${child.pid}.pth.part`);
      const deadline = Date.now() + 20_000;
      while (!(existsSync(part) && statSync(part).size > 0) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(existsSync(part), 'the download has begun');
      child.kill(signal);
      const [code] = await once(child, 'exit');
      assert.equal(code, signal === 'SIGINT' ? 130 : 143);
      assert.equal(existsSync(part), false, 'no part file left');
    });
  }

  it('removes part files left by processes that are gone (not a running one’s) when it starts', async () => {
    const own = temporaryFolder('alexnet-fetch-stale-');
    const stale = path.join(own, `.checkpoint-${2 ** 22 + 1}.pth.part`);
    const running = path.join(own, `.checkpoint-${process.pid}.pth.part`);
    writeFileSync(stale, Buffer.alloc(1000));
    writeFileSync(running, Buffer.alloc(1000));
    const run = await runCli([
      'model',
      'fetch',
      '--url',
      `${base}/server-error/alexnet-${sha256.slice(0, 8)}.pth`,
      '--out',
      path.join(own, 'model.onnx'),
    ]);
    assert.equal(run.status, 1);
    assert.equal(existsSync(stale), false, 'a dead process’s part file is removed');
    assert.equal(existsSync(running), true, 'a running process’s is left');
  });

  it('says an address that is not a URL is not one', async () => {
    const run = await runCli(['model', 'fetch', '--url', 'not a url', '--sha256', '0'.repeat(64)]);
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      'error: --url "not a url" is not a URL: give an http(s) address such as https://download.pytorch.org/models/alexnet-owt-7be5be79.pth; nothing was written\n',
    );
  });

  it('says how to work offline when there is no network', async () => {
    const run = await runCli([
      'model',
      'fetch',
      '--url',
      'http://127.0.0.1:1/alexnet-owt-7be5be79.pth',
      '--out',
      path.join(folder, 'n.onnx'),
    ]);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^error: cannot download http:\/\/127\.0\.0\.1:1\/alexnet-owt-7be5be79\.pth \(.+\)\. Without a network: get the file elsewhere, then run `alexnet-pipeline model convert <file\.pth>`/m,
    );
  });

  it('asks for --sha256 when a URL’s name carries no hash', async () => {
    const run = await runCli(['model', 'fetch', '--url', `${base}/weights.pth`]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: cannot verify .*pass --sha256/m);
  });

  it('convert: refuses a checkpoint that is not AlexNet in one line', async () => {
    const run = await runCli([
      'model',
      'convert',
      path.join(checkpointFixturesDirectory, 'small-legacy.pth'),
      '--out',
      path.join(folder, 'small.onnx'),
    ]);
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^error: .*small-legacy\.pth: the checkpoint is not torchvision's AlexNet: missing .*; nothing was written$/m,
    );
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
