import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { readModelFile, resolveModelPath } from '../../model/index.js';
import { firstUseSettings } from '../../model/pretrained/weights-source.js';
import { devCheckpointFile } from '../helpers/alexnet-checkpoint.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

/**
 * A loopback stand-in for download.pytorch.org as the first use meets it: it serves a full-size
 * AlexNet checkpoint (the dev weights, as PyTorch would save them: converted, they run as a model
 * whose results say `weights: pth:…`, not the dev model's `untrained:…`) under a torch.hub name (`alexnet-<8 hex>.pth`, which is how it is verified),
 * counts the requests per path, and can stay silent, stall after a megabyte, or serve a file whose
 * name promises another hash.
 */
describe('the pretrained weights on first use (a per-user cache, as torch.hub does)', () => {
  let server: Server;
  let base: string;
  /** A loopback port nothing listens on. */
  let closedPort: number;
  let checkpoint: Buffer;
  let name: string;
  const requests: string[] = [];
  const hanging: ServerResponse[] = [];

  before(async () => {
    checkpoint = await readFile(await devCheckpointFile());
    name = `alexnet-${createHash('sha256').update(checkpoint).digest('hex').slice(0, 8)}.pth`;
    server = createServer((request, response) => {
      requests.push(request.url ?? '');
      if (request.url?.startsWith('/silent/')) return void hanging.push(response);
      if (request.url?.startsWith('/stall/')) {
        response.writeHead(200, { 'content-length': String(checkpoint.length) });
        response.write(checkpoint.subarray(0, 2 ** 20));
        return void hanging.push(response);
      }
      response.writeHead(200, { 'content-length': String(checkpoint.length) }).end(checkpoint);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
  });
  after(async () => {
    for (const response of hanging) response.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A user's environment with a network: no ALEXNET_OFFLINE, the given cache and weights URL. */
  function online(cache: string, url = `${base}/ok/${name}`): NodeJS.ProcessEnv {
    return { ALEXNET_OFFLINE: '', ALEXNET_MODEL_CACHE: cache, ALEXNET_WEIGHTS_URL: url, LOG_LEVEL: 'info' };
  }

  function requestsTo(prefix: string): number {
    return requests.filter((url) => url.startsWith(prefix)).length;
  }

  function classify(env: NodeJS.ProcessEnv, extra: string[] = []): Promise<CliRun> {
    return runCli(['classify', 'samples/chelsea.jpg', ...extra], { env, timeoutMs: 90_000 });
  }

  function modelOf(run: CliRun): { sha256: string; weights: string; pretrained: boolean } {
    assert.equal(run.status, 0, run.stderr);
    return (
      JSON.parse(run.stdout.trim().split('\n')[0]!) as {
        model: { sha256: string; weights: string; pretrained: boolean };
      }
    ).model;
  }

  /** The promise's value, or a failure that says what did not happen within `ms` (a protection that is gone would hang). */
  async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
    });
    try {
      return await Promise.race([promise, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A logger whose lines a test reads. */
  function capturedLogger(): { logger: pino.Logger; text: () => string } {
    let text = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    return { logger: pino({ level: 'info' }, sink), text: () => text };
  }

  it('two first runs at once download once into the cache; a later run starts from it without the network', async () => {
    const cache = temporaryFolder('alexnet-first-use-');
    const cachedFile = path.join(cache, name.replace('.pth', '.onnx'));
    const firstRuns = await Promise.all([0, 1].map(() => classify(online(cache))));
    const [a, b] = firstRuns.map(modelOf);
    assert.deepEqual(a, b, 'both ran the same model');
    assert.match(a!.weights, /^pth:[0-9a-f]{16}$/, 'the served checkpoint, converted');
    assert.equal(a!.pretrained, false, 'not the official file: not marked pretrained');
    const stderr = firstRuns.map((run) => run.stderr).join('');
    assert.match(stderr, /first use: fetching the pretrained weights once into the cache/);
    assert.match(stderr, /pretrained weights cached/);
    assert.equal(requestsTo('/ok/'), 1, 'one process downloaded; the other waited for it (or found it cached)');
    assert.deepEqual(readdirSync(cache), [path.basename(cachedFile)], 'the model alone: no part file, no lock');
    assert.equal((await readModelFile(cachedFile)).identity.sha256, a!.sha256, 'the cached file is whole');

    const later = await classify(online(cache));
    assert.deepEqual(modelOf(later), a, 'the same model');
    assert.equal(requestsTo('/ok/'), 1, 'the later run made no request');
    assert.doesNotMatch(later.stderr, /first use|UNTRAINED/);

    const status = await runCli(['model', 'status'], { env: online(cache) });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^model +${cachedFile}$`, 'm'));
    assert.match(status.stdout, /^source +the per-user model cache$/m);
    assert.match(status.stdout, new RegExp(`^sha256 +${a!.sha256}$`, 'm'));
  });

  it('no answer, a stall, a wrong hash or no server: the dev model within the stated timeouts, and nothing cached', async () => {
    const cases = {
      silent: { url: `${base}/silent/${name}`, says: /no answer in 5 s/ },
      stall: { url: `${base}/stall/${name}`, says: /broke off after 1048576 of \d+ bytes \(no data for 5 s\)/ },
      wrongHash: { url: `${base}/wrong/alexnet-00000000.pth`, says: /refused .*expected 00000000/ },
      noServer: {
        url: `http://127.0.0.1:${closedPort}/alexnet-7be5be79.pth`,
        says: /cannot download .*\(ECONNREFUSED\)/,
      },
    };
    await Promise.all(
      Object.entries(cases).map(async ([label, { url, says }]) => {
        const cache = temporaryFolder(`alexnet-first-use-${label}-`);
        const log = capturedLogger();
        const firstUse = firstUseSettings({}, online(cache, url));
        // The timeouts are 5 s; the dev model is built and cached already by then.
        const resolved = await within(20_000, resolveModelPath({ firstUse, logger: log.logger }), label);
        assert.equal(resolved.source, 'dev', label);
        assert.match(log.text(), says, label);
        assert.match(log.text(), /using the dev model: its weights are UNTRAINED.*a later run tries again/, label);
        assert.deepEqual(readdirSync(cache), [], `${label}: no part file, no lock, no model`);
      }),
    );
  });

  it('offline (--offline or ALEXNET_OFFLINE=1) makes no request, and still uses a cached model', async () => {
    const empty = temporaryFolder('alexnet-first-use-offline-');
    const before = requests.length;
    const [flag, variable] = await Promise.all([
      classify(online(empty), ['--offline']),
      resolveModelPath({ firstUse: firstUseSettings({}, { ...online(empty), ALEXNET_OFFLINE: '1' }) }),
    ]);
    assert.match(modelOf(flag).weights, /^untrained:/);
    assert.match(flag.stderr, /offline \(ALEXNET_OFFLINE or --offline\)/);
    assert.equal(variable.source, 'dev');
    assert.equal(requests.length, before, 'no request at all');

    const cache = temporaryFolder('alexnet-first-use-offline-cached-');
    writeFileSync(path.join(cache, name.replace('.pth', '.onnx')), 'a cached model');
    const cached = await resolveModelPath({ firstUse: firstUseSettings({ offline: true }, online(cache)) });
    assert.deepEqual(cached, { path: path.join(cache, name.replace('.pth', '.onnx')), source: 'cached' });
  });

  it('takes over the lock of a fetch whose process is gone (SIGKILL leaves it behind)', async () => {
    const cache = temporaryFolder('alexnet-first-use-stale-');
    const lock = path.join(cache, `${name.replace('.pth', '.onnx')}.lock`);
    mkdirSync(lock);
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(lock, minuteAgo, minuteAgo);
    const resolved = await within(
      40_000,
      resolveModelPath({ firstUse: firstUseSettings({}, online(cache, `${base}/stale/${name}`)) }),
      'the stale lock taken over',
    );
    assert.equal(resolved.source, 'fetched');
    assert.equal(requestsTo('/stale/'), 1);
    assert.deepEqual(readdirSync(cache), [name.replace('.pth', '.onnx')]);
  });

  it('says in one line what is wrong with ALEXNET_OFFLINE or ALEXNET_WEIGHTS_URL', async () => {
    const [offline, url] = await Promise.all([
      runCli(['model', 'status'], { env: { ALEXNET_OFFLINE: 'maybe' } }),
      runCli(['model', 'status'], { env: { ALEXNET_OFFLINE: '', ALEXNET_WEIGHTS_URL: 'ftp://example.com/a.pth' } }),
    ]);
    assert.equal(offline.status, 1);
    assert.equal(
      offline.stderr,
      'error: ALEXNET_OFFLINE must be 1 (or true, yes) to stay offline, or 0 (false, no); got "maybe"\n',
    );
    assert.equal(url.status, 1);
    assert.equal(url.stderr, 'error: ALEXNET_WEIGHTS_URL "ftp://example.com/a.pth" is not an http(s) URL\n');
  });
});
