import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { InferenceSession, MODEL_INPUT, ModelError } from '../../model/index.js';
import { INFERENCE_FAULT_VARIABLE, readInferenceFaults } from '../../model/inference-faults.js';
import { loadDevModelFile } from '../helpers/dev-model.js';

const black = () => new Uint8Array(MODEL_INPUT.cropSize * MODEL_INPUT.cropSize * MODEL_INPUT.channels);

/** A session whose inference thread carries a fault (the thread reads the variable when it starts). */
async function sessionWith(fault: string, batchTimeoutMs = 60_000): Promise<InferenceSession> {
  process.env[INFERENCE_FAULT_VARIABLE] = fault;
  try {
    return await InferenceSession.create(await loadDevModelFile(), { device: 'cpu', maxBatchSize: 2, batchTimeoutMs });
  } finally {
    delete process.env[INFERENCE_FAULT_VARIABLE];
  }
}

describe('InferenceSession when its thread dies or hangs', () => {
  let session: InferenceSession | undefined;
  afterEach(() => session?.dispose(), { timeout: 10_000 });

  it('fails the pending run and every later one at once when the thread exits', { timeout: 20_000 }, async () => {
    // Batch 1 is the signature check at creation; batch 2 kills the thread.
    session = await sessionWith('exit-on-batch:2');
    await assert.rejects(
      session.run([black()]),
      (error: unknown) => error instanceof ModelError && error.code === 'INFERENCE_THREAD_EXITED',
    );
    const started = performance.now();
    await assert.rejects(session.run([black()]), { code: 'INFERENCE_THREAD_EXITED' });
    assert.ok(performance.now() - started < 100, 'a later run fails at once, not by waiting');
    assert.equal(session.failure?.code, 'INFERENCE_THREAD_EXITED');
  });

  it('fails a run that passes its deadline, and refuses later runs', { timeout: 20_000 }, async () => {
    session = await sessionWith('hang-on-batch:2', 500);
    const started = performance.now();
    await assert.rejects(session.run([black()]), { code: 'INFERENCE_TIMEOUT' });
    const ms = performance.now() - started;
    assert.ok(ms >= 450 && ms < 3_000, `failed after ${Math.round(ms)} ms`);
    await assert.rejects(session.run([black()]), { code: 'INFERENCE_TIMEOUT' });
  });

  it('refuses a fault hook it does not understand', () => {
    assert.deepEqual(readInferenceFaults(undefined), {});
    assert.deepEqual(readInferenceFaults('hang-on-batch:3'), { hangOnBatch: 3 });
    assert.throws(() => readInferenceFaults('explode'), /ALEXNET_INFERENCE_FAULT must be/);
  });
});
