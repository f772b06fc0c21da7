import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../../common/errors.js';
import { loadWorkerConfig } from '../../../functions/worker/config.js';

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
    const config = loadWorkerConfig({ QUEUE_URL, MAX_BATCH: '8', MAX_WAIT_MS: '0', DEVICE: 'cuda', UPLOADS_PREFIX: 'in/', RESULTS_PREFIX: 'out/' });
    assert.deepEqual([config.maxBatch, config.maxWaitMs, config.device, config.uploadsPrefix, config.resultsPrefix], [8, 0, 'cuda', 'in/', 'out/']);
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
});
