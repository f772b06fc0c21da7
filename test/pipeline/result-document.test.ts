import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildResult } from '../../pipeline/result-document.js';
import { resultFingerprint } from '../../pipeline/result-fingerprint.js';

const fields = {
  outcome: { status: 'ok' as const, labels: [{ index: 281, label: 'tabby', score: 0.9 }] },
  model: { sha256: 'a'.repeat(64), weights: 'test', pretrained: false, precision: 'fp32' as const },
  fingerprint: 'f'.repeat(32),
  device: 'cpu' as const,
  timings: { downloadMs: 12.4, preprocessMs: 3.6, inferenceMs: 20.5, batchSize: 4 },
  processedAt: new Date('2026-11-28T12:00:00Z'),
};

describe('buildResult', () => {
  it('gives a stored result and a classify line one shape: the same fields, source or file', () => {
    const stored = buildResult({ source: { bucket: 'b', key: 'uploads/a.jpg', etag: 'e', size: 1 } }, fields);
    const line = buildResult(
      { file: 'a.jpg' },
      { ...fields, timings: { preprocessMs: 3.6, inferenceMs: 20.5, batchSize: 4 } },
    );
    const shared = (document: object) => Object.keys(document).filter((key) => key !== 'source' && key !== 'file');
    assert.deepEqual(shared(stored), shared(line));
    assert.deepEqual(Object.keys(stored), [
      'schemaVersion',
      'status',
      'labels',
      'source',
      'model',
      'fingerprint',
      'device',
      'timings',
      'processedAt',
    ]);
    assert.equal(line.file, 'a.jpg');
  });

  it('rounds timings to whole milliseconds and keeps downloadMs only where there was a download', () => {
    assert.deepEqual(buildResult({ file: 'a.jpg' }, fields).timings, {
      downloadMs: 12,
      preprocessMs: 4,
      inferenceMs: 21,
      batchSize: 4,
    });
    assert.equal(
      'downloadMs' in
        buildResult({ file: 'a.jpg' }, { ...fields, timings: { preprocessMs: 1, inferenceMs: 1, batchSize: 1 } })
          .timings,
      false,
    );
    assert.equal(buildResult({ file: 'a.jpg' }, fields).processedAt, '2026-11-28T12:00:00.000Z');
  });

  it('carries an error outcome instead of labels', () => {
    const failed = buildResult(
      { file: 'x.jpg' },
      { ...fields, outcome: { status: 'error', error: { code: 'CORRUPT_IMAGE', message: 'broken' } } },
    );
    assert.equal(failed.status, 'error');
    assert.equal('labels' in failed, false);
  });
});

describe('resultFingerprint', () => {
  const base = { modelSha256: 'a'.repeat(64), topK: 5, maxImageBytes: 52_428_800, maxImagePixels: 100_000_000 };

  it('is stable for the same settings', () => {
    assert.equal(resultFingerprint(base), resultFingerprint({ ...base }));
    assert.match(resultFingerprint(base), /^[0-9a-f]{32}$/);
  });

  it('changes with every setting that changes a result', () => {
    const variants = [
      { modelSha256: 'b'.repeat(64) },
      { topK: 3 },
      { maxImageBytes: 1_000_000 },
      { maxImagePixels: 50_000_000 },
    ];
    const fingerprints = new Set([
      resultFingerprint(base),
      ...variants.map((change) => resultFingerprint({ ...base, ...change })),
    ]);
    assert.equal(fingerprints.size, variants.length + 1);
  });
});
