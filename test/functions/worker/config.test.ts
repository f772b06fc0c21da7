import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../../common/errors.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../../common/paths.js';
import { loadWorkerConfig, resolveWorkerConfig } from '../../../functions/worker/config.js';
import {
  WORKER_SETTINGS,
  workerEnvironmentFor,
  workerSettingsMarkdownTable,
} from '../../../pipeline/worker-settings.js';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs';

describe('loadWorkerConfig', () => {
  it('applies every default', () => {
    const config = loadWorkerConfig({ QUEUE_URL });
    assert.equal(config.queueUrl, QUEUE_URL);
    assert.equal(config.uploadsPrefix, 'uploads/');
    assert.equal(config.resultsPrefix, 'results/');
    assert.equal(config.maxBatch, 32);
    assert.equal(config.maxWaitMs, 50);
    assert.equal(config.device, 'auto');
    assert.equal(config.visibilityTimeoutSeconds, 60);
    assert.equal(config.heartbeatIntervalSeconds, 20);
  });

  it('reads overrides', () => {
    const config = loadWorkerConfig({
      QUEUE_URL,
      MAX_BATCH: '8',
      MAX_WAIT_MS: '0',
      DEVICE: 'cuda',
      UPLOADS_PREFIX: 'in/',
      RESULTS_PREFIX: 'out/',
    });
    assert.deepEqual(
      [config.maxBatch, config.maxWaitMs, config.device, config.uploadsPrefix, config.resultsPrefix],
      [8, 0, 'cuda', 'in/', 'out/'],
    );
  });

  for (const [environment, variable] of [
    [{}, 'QUEUE_URL'],
    [{ QUEUE_URL: 'not a url' }, 'QUEUE_URL'],
    [{ QUEUE_URL, MAX_BATCH: '0' }, 'MAX_BATCH'],
    [{ QUEUE_URL, MAX_BATCH: 'lots' }, 'MAX_BATCH'],
    [{ QUEUE_URL, MAX_WAIT_MS: '-5' }, 'MAX_WAIT_MS'],
    [{ QUEUE_URL, DEVICE: 'tpu' }, 'DEVICE'],
    [{ QUEUE_URL, UPLOADS_PREFIX: 'uploads' }, 'UPLOADS_PREFIX'],
    [{ QUEUE_URL, RESULTS_PREFIX: 'uploads/labels/' }, 'RESULTS_PREFIX'],
    [{ QUEUE_URL, VISIBILITY_TIMEOUT_SECONDS: '30', HEARTBEAT_INTERVAL_SECONDS: '30' }, 'HEARTBEAT_INTERVAL_SECONDS'],
    [{ QUEUE_URL, EVENT_BUS_NAME: 'my bus; rm -rf' }, 'EVENT_BUS_NAME'],
  ] as const) {
    it(`stops with a message naming ${variable} for ${JSON.stringify(environment)}`, () => {
      assert.throws(
        () => loadWorkerConfig(environment),
        (error: unknown) => error instanceof ConfigurationError && error.message.includes(variable),
      );
    });
  }

  it('takes typed overrides over the environment, and checks them against the same table', () => {
    const config = resolveWorkerConfig({ maxBatch: 4, device: 'cpu' }, { QUEUE_URL, MAX_BATCH: '8', TOP_K: '3' });
    assert.deepEqual([config.maxBatch, config.device, config.topK, config.maxWaitMs], [4, 'cpu', 3, 50]);
    assert.throws(
      () => resolveWorkerConfig({ queueUrl: QUEUE_URL, maxBatch: 0 }),
      (error: unknown) => error instanceof ConfigurationError && error.message.includes('MAX_BATCH must be at least 1'),
    );
    assert.throws(
      () => resolveWorkerConfig({ queueUrl: QUEUE_URL, maxBatch: 2.5 }),
      (error: unknown) => error instanceof ConfigurationError && error.message.includes('MAX_BATCH'),
    );
  });

  it('gives a worker process the same configuration from workerEnvironmentFor as in-process callers get', () => {
    const settings = {
      queueUrl: QUEUE_URL,
      maxBatch: 7,
      uploadsPrefix: 'in/',
      resultsPrefix: 'out/',
      device: 'cpu',
      eventBusName: 'default',
    } as const;
    assert.deepEqual(loadWorkerConfig(workerEnvironmentFor(settings)), resolveWorkerConfig(settings));
  });

  it('reads the ECS agent from the environment like every other setting', () => {
    assert.equal(
      loadWorkerConfig({ QUEUE_URL, ECS_AGENT_URI: 'http://169.254.170.2/api/abc' }).ecsAgentUri,
      'http://169.254.170.2/api/abc',
    );
    assert.equal(loadWorkerConfig({ QUEUE_URL }).ecsAgentUri, undefined);
  });

  it('has the docs’ settings table exactly as the table in the code makes it (every variable, default and range)', () => {
    const docs = path.join(projectRoot, 'docs');
    const documents = [
      'README.md',
      ...(existsSync(docs)
        ? readdirSync(docs)
            .filter((name) => name.endsWith('.md'))
            .map((name) => path.join('docs', name))
        : []),
    ];
    const holding = documents.filter((file) =>
      readFileSync(path.join(projectRoot, file), 'utf8').includes('| variable | default | range | meaning |'),
    );
    assert.equal(holding.length, 1, `one document holds the worker settings table: ${holding.join(', ')}`);
    const text = readFileSync(path.join(projectRoot, holding[0]!), 'utf8');
    const start = text.indexOf('| variable | default | range | meaning |');
    const documented = text.slice(start, text.indexOf('\n\n', start));
    assert.equal(documented, workerSettingsMarkdownTable());
    for (const setting of Object.values(WORKER_SETTINGS))
      assert.ok(documented.includes(`| \`${setting.variable}\` |`), setting.variable);
  });
});
