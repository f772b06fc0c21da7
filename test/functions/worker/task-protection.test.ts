import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../common/logger.js';
import { TaskProtection } from '../../../functions/worker/task-protection.js';

describe('TaskProtection against a stand-in ECS agent on loopback', () => {
  let server: Server;
  let agentUri: string;
  const requests: Array<{ method: string; url: string; body: Record<string, unknown> }> = [];
  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        requests.push({ method: request.method!, url: request.url!, body: JSON.parse(body) });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"protection":{}}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    agentUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/task`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('protects while busy, once, and releases after the idle delay', async () => {
    const protection = new TaskProtection({ agentUri, logger: silentLogger, idleReleaseMs: 50, expiresInMinutes: 15 });
    protection.update(true);
    protection.update(true);
    await sleep(30);
    assert.deepEqual(requests, [{ method: 'PUT', url: '/v4/task/task-protection/v1/state', body: { ProtectionEnabled: true, ExpiresInMinutes: 15 } }]);
    protection.update(false);
    await sleep(120);
    assert.deepEqual(requests.at(-1)?.body, { ProtectionEnabled: false });
    assert.equal(requests.length, 2);
  });

  it('is a no-op without ECS_AGENT_URI', async () => {
    const before = requests.length;
    const protection = new TaskProtection({ logger: silentLogger });
    protection.update(true);
    await protection.release();
    assert.equal(protection.enabled, false);
    assert.equal(requests.length, before);
  });
});
