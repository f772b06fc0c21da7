import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { GalleryServer } from '../../../cli/gallery/gallery-server.js';
import { localTarget, type Target } from '../../../cli/target/target.js';
import { silentLogger } from '../../../common/logger.js';
import { DEFAULT_KEY_LAYOUT } from '../../../pipeline/object-keys.js';
import type { ResultDocument } from '../../../pipeline/result-document.js';
import { textPretendingToBeAnImage, truncated } from '../../helpers/image-factories.js';
import { countingS3Client } from '../../helpers/counting-s3-client.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { resultDocument } from '../../helpers/result-documents.js';
import { readFixtureImage, fixtureImageNames } from '../../helpers/fixtures.js';

const TOKEN = 'test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const layout = DEFAULT_KEY_LAYOUT;

/** A stored result for an upload as it is now (its source ETag is the upload's). */
async function storeResult(
  pipeline: LocalPipeline,
  key: string,
  outcome: Parameters<typeof resultDocument>[1],
): Promise<ResultDocument> {
  const { etag, size } = await pipeline.head(key);
  const base = resultDocument(key, outcome);
  const document = { ...base, source: { ...base.source, bucket: pipeline.aws.bucket, etag, size } };
  await pipeline.upload(`results/${key.slice('uploads/'.length)}.json`, JSON.stringify(document));
  return document;
}

function targetOf(pipeline: LocalPipeline): Target {
  return localTarget({ ...pipeline.aws.connection(), layout });
}

/** A request with a Host header of our choosing (fetch does not let a caller set it). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host, ...auth } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('error', reject);
    request.end();
  });
}

describe('gallery server routes (against the embedded S3/SQS, real SDK clients)', () => {
  let pipeline: LocalPipeline;
  let target: Target;
  let server: GalleryServer;
  let base: string;
  const jpeg = readFixtureImage(fixtureImageNames().find((name) => name.endsWith('.jpg'))!);

  before(async () => {
    pipeline = await LocalPipeline.start();
    target = targetOf(pipeline);
    await pipeline.upload('uploads/cats/ok.jpg', jpeg);
    await pipeline.upload('uploads/cats/broken.jpg', truncated(jpeg, 0.1));
    await pipeline.upload('uploads/cats/unreadable.jpg', jpeg);
    await pipeline.upload('uploads/dogs/pending.jpg', jpeg);
    await pipeline.upload('uploads/dogs/replaced.jpg', jpeg);
    await pipeline.upload('uploads/notes.txt', 'not an image');
    await storeResult(pipeline, 'uploads/cats/ok.jpg', {
      labels: [
        ['tabby', 0.5],
        ['tiger cat', 0.3],
        ['Egyptian cat', 0.1],
        ['lynx', 0.05],
        ['fox', 0.01],
      ],
    });
    await storeResult(pipeline, 'uploads/cats/broken.jpg', {
      code: 'CORRUPT_IMAGE',
      message: 'the jpeg image cannot be decoded',
    });
    await pipeline.upload('results/cats/unreadable.jpg.json', '{"not": "a result"}');
    await storeResult(pipeline, 'uploads/dogs/replaced.jpg', { labels: [['beagle', 0.9]] });
    await pipeline.upload('uploads/dogs/replaced.jpg', Buffer.concat([jpeg, Buffer.from([0])]));
    await pipeline.drainQueue();
    server = await GalleryServer.start({
      target,
      root: 'uploads/',
      port: 0,
      logger: silentLogger,
      limits: { maxBytes: 2_000_000, maxPixels: 50_000_000 },
      token: TOKEN,
      index: { relistMinimumMs: 60_000 },
    });
    base = `http://127.0.0.1:${server.port}`;
    await server.index.refresh();
  });
  after(async () => {
    await server?.close();
    await pipeline?.aws.stop();
  });

  it('serves the page without a token, with a policy that runs only its own script', async () => {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type')!, /^text\/html/);
    assert.match(page.headers.get('content-security-policy')!, /script-src 'self';/);
    assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
    assert.match(await page.text(), /<input id="file-input" type="file"/);
    assert.equal((await fetch(`${base}/gallery.js`)).status, 200);
  });

  it('refuses every data and upload call without the token (401) or with another one (403)', async () => {
    const calls = [
      ['GET', '/api/summary'],
      ['GET', '/api/cards?since=0'],
      ['GET', '/api/thumbnail?key=uploads/cats/ok.jpg'],
      ['PUT', '/api/upload?folder=&name=a.jpg'],
    ] as const;
    for (const [method, path] of calls) {
      const missing = await fetch(`${base}${path}`, {
        method,
        ...(method === 'PUT' ? { body: jpeg, headers: { 'content-type': 'image/jpeg' } } : {}),
      });
      assert.equal(missing.status, 401, `${method} ${path} without a token`);
      assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'TOKEN_MISSING');
      const wrong = await fetch(`${base}${path}${path.includes('?') ? '&' : '?'}token=not-the-token`, { method });
      assert.equal(wrong.status, 403, `${method} ${path} with a wrong token`);
      const wrongBearer = await fetch(`${base}${path}`, { method, headers: { authorization: 'Bearer not-the-token' } });
      assert.equal(wrongBearer.status, 403);
    }
    assert.deepEqual(await pipeline.listKeys('uploads/a.jpg'), [], 'the refused upload stored nothing');
    assert.equal((await fetch(`${base}/api/summary`, { headers: auth })).status, 200);
    assert.equal((await fetch(`${base}/api/summary?token=${TOKEN}`)).status, 200);
  });

  it('checks the token on the route the request reaches, however its path is spelt', async () => {
    const spellings = [
      '/%61pi/cards?since=0',
      '/%61pi/summary',
      '/%61pi/thumbnail?key=uploads/cats/ok.jpg',
      '/api%2Fcards?since=0',
      '/%2561pi/cards?since=0',
      `http://127.0.0.1:${server.port}/api/cards?since=0`,
      'http://x/api/summary',
      '//api/cards?since=0',
      '/./api/cards?since=0',
      '/api/../api/summary',
      '/API/cards?since=0',
      '/Api/Summary',
      '/api/cards.?since=0',
      '/api./summary',
      '/api/summary/',
      '/api/summary;x',
      '/api/summary%00',
      '/nothing-here',
    ];
    for (const path of spellings) {
      const answer = await rawRequest('GET', path);
      assert.equal(answer.status, 401, `GET ${path} without a token: ${answer.body}`);
    }
    const upload = await rawRequest('PUT', '/%61pi/upload?folder=&name=escaped.jpg', jpeg);
    assert.equal(upload.status, 401, upload.body);
    assert.deepEqual(await pipeline.listKeys('uploads/escaped.jpg'), [], 'nothing stored');
    assert.equal((await rawRequest('GET', '/gallery.js')).status, 200);
  });

  /** A request whose target is sent exactly as written (fetch would normalise it), with this server's Host. */
  function rawRequest(method: string, target: string, body?: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = httpRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          method,
          path: target,
          headers: {
            host: `127.0.0.1:${server.port}`,
            ...(body ? { 'content-type': 'image/jpeg', 'content-length': body.length } : {}),
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  it('refuses requests that name another host (DNS rebinding)', async () => {
    assert.equal(await getWithHost(`${base}/api/summary`, 'evil.example'), 403);
    assert.equal(await getWithHost(`${base}/`, `attacker.test:${server.port}`), 403);
    assert.equal(await getWithHost(`${base}/api/summary`, `localhost:${server.port}`), 200);
  });

  it('lists each image once with its status, labels or error, and counts them', async () => {
    const changes = (await (await fetch(`${base}/api/cards?since=0`, { headers: auth })).json()) as {
      version: number;
      cards: any[];
      loading?: unknown;
    };
    const byKey = new Map(changes.cards.map((card) => [card.key, card]));
    assert.deepEqual(
      [...byKey.keys()].sort(),
      [
        'uploads/cats/broken.jpg',
        'uploads/cats/ok.jpg',
        'uploads/cats/unreadable.jpg',
        'uploads/dogs/pending.jpg',
        'uploads/dogs/replaced.jpg',
      ],
      'images only: notes.txt is not one',
    );
    const ok = byKey.get('uploads/cats/ok.jpg');
    assert.deepEqual([ok.status, ok.folder, ok.name, ok.pretrained], ['ok', 'cats/', 'ok.jpg', false]);
    assert.deepEqual(
      ok.labels.map((entry: { label: string }) => entry.label),
      ['tabby', 'tiger cat', 'Egyptian cat', 'lynx', 'fox'],
    );
    assert.equal(ok.labels[0].score, 0.5);
    assert.deepEqual(
      [byKey.get('uploads/cats/broken.jpg').status, byKey.get('uploads/cats/broken.jpg').error.code],
      ['error', 'CORRUPT_IMAGE'],
    );
    assert.deepEqual(
      [byKey.get('uploads/cats/unreadable.jpg').status, byKey.get('uploads/cats/unreadable.jpg').error.code],
      ['error', 'UNREADABLE_RESULT'],
    );
    assert.equal(byKey.get('uploads/dogs/pending.jpg').status, 'pending');
    assert.deepEqual(
      [byKey.get('uploads/dogs/replaced.jpg').status, byKey.get('uploads/dogs/replaced.jpg').replaced],
      ['pending', true],
      'a result of an earlier version is not shown as current',
    );
    assert.equal(changes.loading, undefined);
    const summary = (await (await fetch(`${base}/api/summary`, { headers: auth })).json()) as any;
    assert.deepEqual(summary.counts, { uploaded: 5, done: 3, ok: 1, errors: 2, pending: 2 });
    assert.deepEqual([summary.queue, summary.deadLetters], [{ visible: 0, inFlight: 0 }, 0]);
    assert.equal(summary.untrained, 1);
    assert.match(summary.untrainedNotice, /UNTRAINED weights/);
  });

  it('sends a page only what changed since the version it holds', async () => {
    const first = (await (await fetch(`${base}/api/cards?since=0`, { headers: auth })).json()) as { version: number };
    const nothing = (await (await fetch(`${base}/api/cards?since=${first.version}`, { headers: auth })).json()) as {
      version: number;
      cards: unknown[];
    };
    assert.deepEqual([nothing.version, nothing.cards], [first.version, []]);
    await storeResult(pipeline, 'uploads/dogs/pending.jpg', { labels: [['beagle', 0.8]] });
    await server.index.refresh();
    const next = (await (await fetch(`${base}/api/cards?since=${first.version}`, { headers: auth })).json()) as {
      version: number;
      cards: any[];
    };
    assert.deepEqual(
      next.cards.map((card) => [card.key, card.status]),
      [['uploads/dogs/pending.jpg', 'ok']],
    );
    assert.ok(next.version > first.version);
    assert.equal((await fetch(`${base}/api/cards?since=-1`, { headers: auth })).status, 400);
  });

  it('makes small WebP thumbnails once per version, and a placeholder for what is not an image', async () => {
    const url = `${base}/api/thumbnail?key=${encodeURIComponent('uploads/cats/ok.jpg')}`;
    const made = server.thumbnails.made;
    const etag = (await pipeline.head('uploads/cats/ok.jpg')).etag;
    const first = await fetch(`${url}&v=${etag}`, { headers: auth });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('content-type'), 'image/webp');
    assert.match(first.headers.get('cache-control')!, /immutable/);
    const metadata = await sharp(Buffer.from(await first.arrayBuffer())).metadata();
    assert.equal(metadata.format, 'webp');
    assert.ok(Math.max(metadata.width!, metadata.height!) <= 320, `${metadata.width}×${metadata.height}`);
    assert.ok(jpeg.length > Number(first.headers.get('content-length')), 'smaller than the image');
    assert.equal((await fetch(`${url}&v=${etag}`, { headers: auth })).status, 200);
    assert.equal(server.thumbnails.made, made + 1, 'the second call is served from the cache');
    const broken = await fetch(`${base}/api/thumbnail?key=${encodeURIComponent('uploads/cats/broken.jpg')}`, {
      headers: auth,
    });
    assert.deepEqual(
      [broken.status, broken.headers.get('content-type'), broken.headers.get('x-thumbnail-problem')],
      [200, 'image/svg+xml', 'CORRUPT_IMAGE'],
    );
    assert.equal((await fetch(`${base}/api/thumbnail?key=uploads/cats/gone.jpg`, { headers: auth })).status, 404);
  });

  it('reads no object outside the gallery’s folder through the thumbnail call', async () => {
    for (const key of ['results/cats/ok.jpg.json', 'secrets/key.jpg', '']) {
      const response = await fetch(`${base}/api/thumbnail?key=${encodeURIComponent(key)}`, { headers: auth });
      assert.equal(response.status, 403, key);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'OUTSIDE_GALLERY');
    }
  });

  it('uploads an image into a folder below the uploads prefix and shows it as pending at once', async () => {
    const response = await fetch(
      `${base}/api/upload?folder=${encodeURIComponent('birds/new/')}&name=${encodeURIComponent('robin 1.jpg')}`,
      { method: 'PUT', body: jpeg, headers: { ...auth, 'content-type': 'image/jpeg' } },
    );
    assert.equal(response.status, 201, await response.clone().text());
    assert.deepEqual(await response.json(), { key: 'uploads/birds/new/robin 1.jpg' });
    assert.ok(await pipeline.exists('uploads/birds/new/robin 1.jpg'));
    const head = await pipeline.head('uploads/birds/new/robin 1.jpg');
    assert.equal(head.size, jpeg.length);
    const card = server.index.changesSince(0).cards.find((entry) => entry.key === 'uploads/birds/new/robin 1.jpg');
    assert.deepEqual([card?.status, card?.folder], ['pending', 'birds/new/']);
  });

  it('refuses uploads outside the uploads prefix, of the wrong type or too large, and stores nothing', async () => {
    const put = (query: string, body: Uint8Array | string, type = 'image/jpeg') =>
      fetch(`${base}/api/upload?${query}`, { method: 'PUT', body, headers: { ...auth, 'content-type': type } });
    const refusals: Array<[string, Uint8Array | string, string, number, string]> = [
      ['folder=..%2F&name=escape.jpg', jpeg, 'image/jpeg', 403, 'FOLDER_REFUSED'],
      ['folder=cats%2F..%2F..%2F&name=escape.jpg', jpeg, 'image/jpeg', 403, 'FOLDER_REFUSED'],
      ['folder=%2Fabsolute%2F&name=escape.jpg', jpeg, 'image/jpeg', 403, 'FOLDER_REFUSED'],
      ['folder=&name=..%2Fresults%2Fx.jpg', jpeg, 'image/jpeg', 400, 'BAD_FILE_NAME'],
      ['folder=&name=list.txt', 'milk', 'image/jpeg', 415, 'NOT_AN_IMAGE_NAME'],
      ['folder=&name=typed.jpg', jpeg, 'text/plain', 415, 'NOT_AN_IMAGE_TYPE'],
      ['folder=&name=shopping.jpg', textPretendingToBeAnImage, 'image/jpeg', 415, 'NOT_AN_IMAGE'],
      [
        'folder=&name=huge.jpg',
        Buffer.concat([jpeg, Buffer.alloc(2_000_001 - jpeg.length)]),
        'image/jpeg',
        413,
        'FILE_TOO_LARGE',
      ],
      ['name=nofolder.jpg', jpeg, 'image/jpeg', 400, 'BAD_UPLOAD'],
    ];
    for (const [query, body, type, status, code] of refusals) {
      const response = await put(query, body, type);
      const answer = (await response.json()) as { error: { code: string; message: string } };
      assert.deepEqual([response.status, answer.error.code], [status, code], query);
      assert.doesNotMatch(answer.error.message, /\n\s+at /, 'no stack trace');
    }
    const keys = [
      ...(await pipeline.listKeys('')).filter((key) => /escape|list\.txt|typed|shopping|huge|nofolder/.test(key)),
    ];
    assert.deepEqual(keys, [], 'nothing refused was stored');
  });

  it('refuses an upload whose declared size is over the limit before reading its body', async () => {
    // Headers that announce 5 MB, then only a few bytes: the answer must come without the rest.
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        `${base}/api/upload?folder=&name=declared.jpg`,
        { method: 'PUT', headers: { ...auth, 'content-type': 'image/jpeg', 'content-length': String(5_000_000) } },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
          request.destroy();
        },
      );
      request.on('error', () => undefined);
      request.write(jpeg.subarray(0, 100));
      setTimeout(() => {
        request.destroy();
        reject(new Error('no answer within 5 s: the server waited for a body over its limit'));
      }, 5_000).unref();
    });
    assert.equal(status, 413);
  });

  it('stops refreshing while no page asks, and resumes when one does', async () => {
    const counted = countingS3Client(pipeline);
    const watched = await GalleryServer.start({
      target: { ...target, s3: counted.s3 },
      root: 'uploads/',
      port: 0,
      logger: silentLogger,
      limits: { maxBytes: 1000, maxPixels: 1000 },
      token: TOKEN,
      refreshIntervalMs: 25,
      pauseWithoutPageMs: 300,
    });
    try {
      // Pending images keep a watched gallery busy: each refresh looks up their result keys.
      await sleep(700);
      const paused = counted.total();
      await sleep(400);
      assert.equal(counted.total(), paused, 'no S3 request while no page asks');
      await fetch(`http://127.0.0.1:${watched.port}/api/cards?since=0`, { headers: auth });
      await sleep(200);
      assert.ok(counted.total() > paused, 'a page asking resumes the refreshes');
    } finally {
      await watched.close();
      counted.s3.destroy();
    }
  });

  it('says what is wrong, without a stack, when the bucket cannot be read', async () => {
    const missing = await GalleryServer.start({
      target: { ...target, bucket: 'no-such-bucket' },
      root: 'uploads/',
      port: 0,
      logger: silentLogger,
      limits: { maxBytes: 1000, maxPixels: 1000 },
      token: TOKEN,
    });
    try {
      await missing.index.refresh();
      const summary = (await (
        await fetch(`http://127.0.0.1:${missing.port}/api/summary`, { headers: auth })
      ).json()) as { problem?: string };
      assert.match(summary.problem ?? '', /bucket no-such-bucket does not exist/);
      const thumbnail = await fetch(`http://127.0.0.1:${missing.port}/api/thumbnail?key=uploads/a.jpg`, {
        headers: auth,
      });
      const body = (await thumbnail.json()) as { error: { code: string; message: string } };
      assert.deepEqual([thumbnail.status, body.error.code], [502, 'STORAGE_FAILED']);
      assert.doesNotMatch(body.error.message, /\n\s+at /);
    } finally {
      await missing.close();
    }
  });

  it('holds no more upload bytes at once than its budget, wants a declared length, and drops a body that stops coming', async () => {
    const bounded = await GalleryServer.start({
      target,
      root: 'uploads/',
      port: 0,
      logger: silentLogger,
      limits: { maxBytes: 2_000_000, maxPixels: 50_000_000 },
      token: TOKEN,
      uploadBufferBytes: 3_000_000,
      idleTimeoutMs: 1_500,
    });
    const sockets: Socket[] = [];
    /** Headers of an upload that declares `length` bytes, and then `body` (possibly less, or nothing). */
    const startUpload = (name: string, length: number | undefined, body = Buffer.alloc(0)) => {
      const socket = connect(bounded.port, '127.0.0.1');
      sockets.push(socket);
      const headers = [
        `PUT /api/upload?folder=&name=${name} HTTP/1.1`,
        `host: 127.0.0.1:${bounded.port}`,
        `authorization: Bearer ${TOKEN}`,
        'content-type: image/jpeg',
      ];
      headers.push(length === undefined ? 'transfer-encoding: chunked' : `content-length: ${length}`);
      socket.write(`${headers.join('\r\n')}\r\n\r\n`);
      if (body.length > 0) socket.write(body);
      let answer = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
      const closed = once(socket, 'close').then(() => answer);
      socket.on('error', () => undefined);
      return { answer: () => answer, closed };
    };
    try {
      // An upload that declares 1 MB, sends 4 bytes and stops is dropped after the idle time.
      const started = Date.now();
      const stalled = startUpload('e.jpg', 1_000_000, Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
      assert.equal(
        await Promise.race([stalled.closed.then(() => 'closed'), sleep(8_000).then(() => 'still open')]),
        'closed',
      );
      assert.ok(Date.now() - started >= 1_000, 'not before its idle time');
      assert.equal(stalled.answer(), '', 'dropped, not answered');
      // Two uploads of 1.5 MB under way (their bodies not sent yet) take the 3 MB budget…
      startUpload('a.jpg', 1_500_000);
      startUpload('b.jpg', 1_500_000);
      await sleep(100);
      // …so a third is refused at once, before its body.
      const third = await fetch(`http://127.0.0.1:${bounded.port}/api/upload?folder=&name=c.jpg`, {
        method: 'PUT',
        body: jpeg,
        headers: { ...auth, 'content-type': 'image/jpeg' },
      });
      const refusal = (await third.json()) as { error: { code: string } };
      assert.deepEqual([third.status, refusal.error.code], [503, 'UPLOADS_BUSY']);
      // A body of unstated length is refused.
      const chunked = startUpload('d.jpg', undefined);
      await sleep(100);
      assert.match(chunked.answer(), /^HTTP\/1\.1 411 /);
      // The stalled uploads are gone after their idle time: the budget is free again.
      await sleep(2_000);
      const later = await fetch(`http://127.0.0.1:${bounded.port}/api/upload?folder=&name=later.jpg`, {
        method: 'PUT',
        body: jpeg,
        headers: { ...auth, 'content-type': 'image/jpeg' },
      });
      assert.equal(later.status, 201, await later.text());
      assert.deepEqual(await pipeline.listKeys('uploads/c.jpg'), [], 'the refused upload stored nothing');
    } finally {
      for (const socket of sockets) socket.destroy();
      await bounded.close();
    }
  });
});
