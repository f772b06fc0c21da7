import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createS3Client } from '../../common/aws-clients.js';
import { ObjectStore } from '../../pipeline/object-store.js';

const LIMIT = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 7);
/** The endless body stops here whatever happens: a test never sends more than this to loopback. */
const SERVER_CAP = 64 * 1024 * 1024;

/**
 * A loopback server answering GetObject with chunked bodies — no Content-Length, which a response
 * need not state — as an S3-compatible store or a proxy may: `/bucket/small` a body within the limit
 * in three chunks, `/bucket/endless` chunks until the client goes away (or the cap).
 */
describe('ObjectStore.download: a response that states no length', () => {
  let server: Server;
  let store: ObjectStore;
  let endlessBytesSent = 0;
  let endlessClosed: Promise<void>;

  before(async () => {
    let closed: () => void;
    endlessClosed = new Promise((resolve) => (closed = resolve));
    server = createServer((request, response) => {
      response.writeHead(200, { etag: '"abc"', 'content-type': 'image/jpeg', 'transfer-encoding': 'chunked' });
      if (request.url?.startsWith('/bucket/small')) {
        for (const byte of [1, 2, 3]) response.write(Buffer.alloc(100_000, byte));
        response.end();
        return;
      }
      response.on('close', () => closed());
      const send = () => {
        while (endlessBytesSent < SERVER_CAP) {
          endlessBytesSent += CHUNK.length;
          if (!response.write(CHUNK)) return void response.once('drain', send);
        }
        response.end();
      };
      send();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    store = new ObjectStore(
      createS3Client({
        endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
        maxAttempts: 1,
      }),
    );
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reads a body within the limit, and reserves memory for the limit since no size was stated', async () => {
    const reservations: number[] = [];
    const bytes = await store.download('bucket', 'small', {
      etag: 'abc',
      maxBytes: LIMIT,
      beforeBody: async (size) => void reservations.push(size),
    });
    assert.equal(bytes.length, 300_000);
    assert.deepEqual([bytes[0], bytes[150_000], bytes[299_999]], [1, 2, 3]);
    assert.deepEqual(reservations, [LIMIT]);
  });

  it('stops reading a body that runs past the limit and refuses it as too large', async () => {
    await assert.rejects(store.download('bucket', 'endless', { etag: 'abc', maxBytes: LIMIT }), {
      name: 'ImageError',
      code: 'FILE_TOO_LARGE',
      message: `the object's body runs past the limit of ${LIMIT} bytes`,
    });
    // The connection is closed from our side: the server stops long before its cap (socket buffers
    // on loopback hold a few MB; reading the body whole would have taken all 64).
    await endlessClosed;
    assert.ok(endlessBytesSent < 16 * 1024 * 1024, `the server sent ${endlessBytesSent} bytes`);
  });
});
