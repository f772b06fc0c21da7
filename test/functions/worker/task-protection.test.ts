import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../common/logger.js';
import { TaskProtection } from '../../../functions/worker/task-protection.js';

/** A stand-in for the ECS agent's task-protection endpoint: records requests, answers as told. */
describe('TaskProtection against a stand-in ECS agent on loopback', () => {
  let server: Server;
  let agentUri: string;
  let requests: Array<{ enabled: boolean; at: number }>;
  /** Per request: the status to answer and how long to wait first. */
  let answers: Array<{ status: number; delayMs: number }>;

  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const { status, delayMs } = answers.shift() ?? { status: 200, delayMs: 0 };
        setTimeout(() => {
          requests.push({ enabled: JSON.parse(body).ProtectionEnabled, at: performance.now() });
          response
            .writeHead(status, { 'content-type': 'application/json' })
            .end(status === 200 ? '{"protection":{}}' : '{"error":"agent busy"}');
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    agentUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v4/task`;
  });
  beforeEach(() => {
    requests = [];
    answers = [];
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const waitFor = async (condition: () => boolean, what: string) => {
    const deadline = Date.now() + 5_000;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(5);
    }
  };

  it('protects while busy, once, and releases after the idle delay', async () => {
    const protection = new TaskProtection({ agentUri, logger: silentLogger, idleReleaseMs: 50, expiresInMinutes: 15 });
    protection.update(true);
    protection.update(true);
    await waitFor(() => protection.held, 'protection');
    assert.deepEqual(
      requests.map((r) => r.enabled),
      [true],
    );
    protection.update(false);
    await waitFor(() => requests.length === 2, 'the release');
    await protection.settled();
    assert.deepEqual(
      requests.map((r) => r.enabled),
      [true, false],
    );
    assert.equal(protection.held, false);
  });

  it('sends a release only after the enable before it has been answered, however slow', async () => {
    answers = [{ status: 200, delayMs: 300 }];
    const protection = new TaskProtection({ agentUri, logger: silentLogger, idleReleaseMs: 10 });
    protection.update(true);
    protection.update(false);
    await waitFor(() => requests.length === 2, 'both calls');
    await protection.settled();
    assert.deepEqual(
      requests.map((r) => r.enabled),
      [true, false],
      'the release lands last, so the task ends unprotected',
    );
    assert.equal(protection.held, false);
  });

  it('does not count a refused enable as held, and tries again', async () => {
    answers = [{ status: 500, delayMs: 0 }];
    const protection = new TaskProtection({ agentUri, logger: silentLogger, retryAfterMs: 50 });
    protection.update(true);
    await waitFor(() => requests.length === 1, 'the first enable');
    await sleep(20);
    assert.equal(protection.held, false, 'a refused enable is not protection');
    await sleep(50);
    protection.update(true);
    await waitFor(() => protection.held, 'protection after the retry');
    assert.deepEqual(
      requests.map((r) => r.enabled),
      [true, true],
    );
    await protection.release();
    assert.deepEqual(
      requests.map((r) => r.enabled),
      [true, true, false],
    );
  });

  it('is a no-op without ECS_AGENT_URI', async () => {
    const protection = new TaskProtection({ logger: silentLogger });
    protection.update(true);
    await protection.release();
    assert.equal(protection.enabled, false);
    assert.equal(requests.length, 0);
  });
});
