import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PipelineError } from '../../../common/errors.js';
import { InferenceBreaker } from '../../../functions/worker/inference-breaker.js';
import {
  classifyFailure,
  decideLeaseEnd,
  decideRecord,
  type FailureKind,
  type RecordEvent,
  type RecordStep,
} from '../../../functions/worker/outcome-policy.js';
import { ImageError, ModelError } from '../../../model/index.js';
import {
  BucketNotFoundError,
  InferenceKeepsFailingError,
  MessageFormatError,
  QueueNotFoundError,
  SourceObjectMissingError,
  SourceSupersededError,
  TransientAwsError,
} from '../../../pipeline/errors.js';

describe('classifyFailure', () => {
  const cases: Array<[string, unknown, FailureKind]> = [
    ['a corrupt image', new ImageError('CORRUPT_IMAGE', 'x'), 'image-error'],
    ['an object gone before its download', new SourceObjectMissingError('b', 'k'), 'image-error'],
    ['a newer upload of the key', new SourceSupersededError('b', 'k', 'e'), 'superseded'],
    ['a bucket that does not exist', new BucketNotFoundError('b'), 'configuration'],
    ['a throttled S3 call', new TransientAwsError('GetObject', {}, new Error('SlowDown')), 'transient'],
    ['a failed inference run', new ModelError('INFERENCE_FAILED', 'x'), 'transient'],
    ['an inference thread that exited', new ModelError('INFERENCE_THREAD_EXITED', 'x'), 'fatal'],
    ['a stuck inference', new ModelError('INFERENCE_TIMEOUT', 'x'), 'fatal'],
    ['a device that cannot load', new ModelError('DEVICE_UNAVAILABLE', 'x'), 'fatal'],
    ['a project error that retrying cannot fix', new PipelineError('SOMETHING', 'x'), 'image-error'],
    ['a project error that retrying may fix', new PipelineError('SOMETHING', 'x', { retryable: true }), 'transient'],
    ['anything else', new TypeError('x'), 'transient'],
  ];
  for (const [what, error, kind] of cases)
    it(`calls ${what} ${kind}`, () => assert.equal(classifyFailure(error), kind));
});

describe('decideRecord: every event → outcome, counter, level, action', () => {
  // [event, outcome, counter, level, action]
  const table: Array<[RecordEvent, string, string | undefined, string, string]> = [
    [{ happened: 'skipped' }, 'skipped', 'skipped', 'info', 'end'],
    [{ happened: 'duplicate' }, 'duplicate', 'duplicates', 'info', 'end'],
    [{ happened: 'stored' }, 'stored', 'classified', 'info', 'end'],
    [{ happened: 'error-stored' }, 'error-stored', 'errorResults', 'info', 'end'],
    [{ happened: 'older-than-stored' }, 'superseded', 'superseded', 'info', 'end'],
  ];
  const steps: RecordStep[] = ['classify', 'store', 'publish', 'read-stored'];
  for (const step of steps) {
    table.push([{ happened: 'failed', step, kind: 'fatal' }, 'retry', undefined, 'fatal', 'fail-worker']);
    table.push([{ happened: 'failed', step, kind: 'transient' }, 'retry', 'retried', 'warn', 'end']);
    table.push([{ happened: 'failed', step, kind: 'configuration' }, 'retry', 'retried', 'error', 'end']);
    if (step === 'classify') {
      table.push([
        { happened: 'failed', step, kind: 'image-error' },
        'error-stored',
        undefined,
        'warn',
        'store-error-result',
      ]);
      table.push([{ happened: 'failed', step, kind: 'superseded' }, 'superseded', 'superseded', 'info', 'end']);
    } else {
      // Once the image is classified, whatever fails sends the message back: the result is computed again or found stored.
      table.push([{ happened: 'failed', step, kind: 'image-error' }, 'retry', 'retried', 'warn', 'end']);
      table.push([{ happened: 'failed', step, kind: 'superseded' }, 'retry', 'retried', 'warn', 'end']);
    }
  }
  for (const [event, outcome, counter, level, action] of table) {
    it(`${JSON.stringify(event)} → ${outcome}, ${counter ?? 'no counter'}, ${level}, ${action}`, () => {
      const decision = decideRecord(event);
      assert.deepEqual(
        [decision.outcome, decision.counter, decision.level, decision.action],
        [outcome, counter, level, action],
      );
      // A fatal failure's one log line is the queue consumer's, as it fails the worker.
      if (decision.action !== 'fail-worker' && (decision.level !== 'info' || decision.counter === 'superseded'))
        assert.ok(decision.message, 'every failure and skip says why in a log line');
    });
  }

  it('ends a lease by its records, and dead-letters only a body that is not an S3 event', () => {
    assert.equal(
      decideLeaseEnd({ records: ['stored', 'error-stored', 'skipped', 'duplicate', 'superseded'] }),
      'delete',
    );
    assert.equal(decideLeaseEnd({ records: ['stored', 'retry'] }), 'retry');
    assert.equal(decideLeaseEnd({ error: new MessageFormatError('not JSON') }), 'dead-letter');
    assert.equal(decideLeaseEnd({ error: new TypeError('x') }), 'retry');
  });
});

describe('InferenceBreaker', () => {
  it('trips on the third failed run in a row, and a success in between resets it', () => {
    const breaker = new InferenceBreaker();
    assert.equal(breaker.failed(new Error('1')), undefined);
    breaker.succeeded();
    assert.equal(breaker.failed(new Error('1')), undefined);
    assert.equal(breaker.failed(new Error('2')), undefined);
    const tripped = breaker.failed(new Error('CUDA failure 700'));
    assert.ok(tripped instanceof InferenceKeepsFailingError);
    assert.equal(tripped.code, 'INFERENCE_KEEPS_FAILING');
    assert.match(tripped.message, /3 inference runs in a row failed; last: CUDA failure 700/);
  });

  it('makes the worker’s fatal errors project errors with stable codes', () => {
    const error = new QueueNotFoundError('http://127.0.0.1:1/queue/typo');
    assert.ok(error instanceof PipelineError);
    assert.equal(error.code, 'QUEUE_NOT_FOUND');
    assert.match(error.message, /the queue http:\/\/127\.0\.0\.1:1\/queue\/typo does not exist: check QUEUE_URL/);
  });
});
