import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createS3Client, createSqsClient, type AwsClientOptions } from '../../common/aws-clients.js';

/** A loopback server that never answers, or (for `/stalled-body`) sends headers and one byte of a 100-byte body. */
describe('AWS clients with timeouts, against a server that stalls', () => {
  let server: Server;
  let options: AwsClientOptions;
  const open: ServerResponse[] = [];
  before(async () => {
    server = createServer((request, response) => {
      open.push(response);
      if (request.url?.includes('stalled-body')) response.writeHead(200, { 'content-length': '100' }).write('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    options = {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 1,
    };
  });
  after(async () => {
    for (const response of open) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const elapsed = async (call: () => Promise<unknown>) => {
    const started = performance.now();
    const error = await call().then(
      () => undefined,
      (failure: unknown) => failure as Error,
    );
    return { error, ms: performance.now() - started };
  };

  it('fails a request with no answer after the request timeout (not a warning and an endless wait)', async () => {
    const sqs = createSqsClient({
      ...options,
      timeouts: { connectionMs: 1_000, requestMs: 1_500, socketIdleMs: 10_000 },
    });
    const { error, ms } = await elapsed(() =>
      sqs.send(new ReceiveMessageCommand({ QueueUrl: `${options.endpoint}/q` })),
    );
    assert.equal(error?.name, 'TimeoutError');
    assert.ok(ms >= 1_400 && ms < 5_000, `failed after ${Math.round(ms)} ms`);
  });

  it('gives a long poll its own, longer request timeout', async () => {
    const sqs = createSqsClient({
      ...options,
      timeouts: { connectionMs: 1_000, requestMs: 1_000, socketIdleMs: 10_000 },
    });
    const { error, ms } = await elapsed(() =>
      sqs.send(new ReceiveMessageCommand({ QueueUrl: `${options.endpoint}/q`, WaitTimeSeconds: 1 }), {
        requestTimeout: 2_500,
      }),
    );
    assert.equal(error?.name, 'TimeoutError');
    assert.ok(ms >= 2_400 && ms < 5_000, `the poll ended after ${Math.round(ms)} ms`);
  });

  it('fails a download whose body stops coming after the socket idle timeout', async () => {
    const s3 = createS3Client({ ...options, timeouts: { connectionMs: 1_000, requestMs: 5_000, socketIdleMs: 1_000 } });
    const { error, ms } = await elapsed(async () =>
      (await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'stalled-body' }))).Body!.transformToByteArray(),
    );
    assert.equal(error?.name, 'TimeoutError');
    assert.ok(ms < 4_000, `failed after ${Math.round(ms)} ms`);
  });
});
