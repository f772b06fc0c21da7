import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imagenetClassNames, softmax, topKIndices, topKLabels } from '../../model/index.js';

describe('softmax', () => {
  it('gives probabilities that sum to one, ordered like the logits', () => {
    const p = softmax([1, 2, 3]);
    assert.ok(Math.abs(p.reduce((s, v) => s + v, 0) - 1) < 1e-12);
    assert.ok(p[0]! < p[1]! && p[1]! < p[2]!);
    assert.ok(Math.abs(p[2]! - Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3))) < 1e-12);
  });

  it('stays finite for large logits', () => {
    const p = softmax([1000, 1001, 999]);
    assert.ok(p.every(Number.isFinite));
    assert.ok(Math.abs(p[1]! - 1 / (1 + Math.exp(-1) + Math.exp(-2))) < 1e-12);
  });

  it('reads a window of a batch of logits', () => {
    assert.deepEqual(Array.from(softmax([9, 9, 0, 0], 2, 2)), [0.5, 0.5]);
  });
});

describe('topKIndices', () => {
  it('returns the k largest, largest first', () => {
    assert.deepEqual(topKIndices([0.1, 0.5, 0.2, 0.9, 0.3], 3), [3, 1, 4]);
  });
  it('keeps the lower index first on ties and clamps k', () => {
    assert.deepEqual(topKIndices([1, 3, 3, 2], 2), [1, 2]);
    assert.deepEqual(topKIndices([1, 2], 5), [1, 0]);
    assert.deepEqual(topKIndices([1, 2], 0), []);
  });
});

describe('topKLabels', () => {
  it('names classes in torchvision index order', () => {
    const names = imagenetClassNames();
    assert.equal(names.length, 1000);
    assert.equal(names[0], 'tench');
    assert.equal(names[281], 'tabby');
    const logits = new Float32Array(1000);
    logits[281] = 10;
    logits[0] = 5;
    const [first, second] = topKLabels(logits, names, 2);
    assert.equal(first!.label, 'tabby');
    assert.equal(first!.index, 281);
    assert.equal(second!.label, 'tench');
    assert.ok(first!.score > second!.score && first!.score < 1);
  });
});
