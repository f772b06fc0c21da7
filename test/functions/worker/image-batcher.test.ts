import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImageBatcher } from '../../../functions/worker/image-batcher.js';

const tensor = (value: number) => new Uint8Array([value]);

function recordingBatcher(maxBatch: number, maxWaitMs: number, runMs = 0) {
  const batches: number[][] = [];
  const batcher = new ImageBatcher<number>({
    maxBatch,
    maxWaitMs,
    runBatch: async (items) => {
      batches.push(items.map((item) => item[0]!));
      if (runMs > 0) await sleep(runMs);
      return items.map((item) => item[0]! * 10);
    },
  });
  return { batcher, batches };
}

describe('ImageBatcher', () => {
  it('runs a full batch at once, without waiting for the timer', async () => {
    const { batcher, batches } = recordingBatcher(3, 10_000);
    const started = performance.now();
    const results = await Promise.all([1, 2, 3].map((v) => batcher.add(tensor(v))));
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual(batches, [[1, 2, 3]]);
    assert.deepEqual(
      results.map((r) => [r.result, r.batchSize]),
      [
        [10, 3],
        [20, 3],
        [30, 3],
      ],
    );
  });

  it('runs a partial batch maxWaitMs after its first item', async () => {
    const { batcher, batches } = recordingBatcher(32, 40);
    const started = performance.now();
    const results = await Promise.all([batcher.add(tensor(1)), batcher.add(tensor(2))]);
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 35, `ran after ${elapsed} ms`);
    assert.deepEqual(batches, [[1, 2]]);
    assert.equal(results[0]!.batchSize, 2);
  });

  it('splits more than maxBatch items and gathers arrivals during a run into the next batch', async () => {
    const { batcher, batches } = recordingBatcher(2, 5, 30);
    const first = [1, 2, 3].map((v) => batcher.add(tensor(v)));
    await sleep(10);
    const later = [4, 5].map((v) => batcher.add(tensor(v)));
    await Promise.all([...first, ...later]);
    assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
  });

  it('rejects every item of a failed batch and keeps serving later ones', async () => {
    let fail = true;
    const batcher = new ImageBatcher<number>({
      maxBatch: 2,
      maxWaitMs: 20,
      runBatch: async (items) => {
        if (fail) {
          fail = false;
          throw new Error('device lost');
        }
        return items.map(() => 1);
      },
    });
    const failed = await Promise.allSettled([batcher.add(tensor(1)), batcher.add(tensor(2))]);
    assert.deepEqual(
      failed.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    assert.equal((await batcher.add(tensor(3))).result, 1);
  });

  it('validates its options', () => {
    assert.throws(() => new ImageBatcher({ maxBatch: 0, maxWaitMs: 1, runBatch: async () => [] }), /maxBatch/);
    assert.throws(() => new ImageBatcher({ maxBatch: 1, maxWaitMs: -1, runBatch: async () => [] }), /maxWaitMs/);
  });
});
