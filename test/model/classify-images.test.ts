import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { classifyImages, DECODES_PER_CORE, type ImageSource } from '../../model/classify-images.js';
import type { BatchClassifier } from '../../model/image-classifier.js';
import { readFixtureImage } from '../helpers/fixtures.js';

/** A classifier that names each image by its first pixel value and records its batch sizes. */
function recordingClassifier(maxBatchSize: number): BatchClassifier & { batches: number[] } {
  const batches: number[] = [];
  return {
    model: { sha256: 'test', pretrained: false, weights: 'untrained stand-in', precision: 'fp32' },
    device: 'cpu',
    maxBatchSize,
    topK: 1,
    batches,
    async classifyBatch(images) {
      batches.push(images.length);
      return images.map((rgb) => [{ index: rgb[0]!, label: `first pixel ${rgb[0]}`, score: 1 }]);
    },
  };
}

describe('classifyImages: decoding overlaps inference, in bounds', () => {
  it('reads and decodes at most DECODES_PER_CORE per core at once, and that many when it can', async () => {
    const image = readFixtureImage('chelsea.jpg');
    let reading = 0;
    let mostAtOnce = 0;
    const sources: ImageSource[] = Array.from({ length: 48 }, (_, i) => ({
      name: `${i}.jpg`,
      async read() {
        mostAtOnce = Math.max(mostAtOnce, ++reading);
        await sleep(20); // a slow disk: reads pile up to the limit
        reading--;
        return image;
      },
    }));
    const classifier = recordingClassifier(8);
    const names: string[] = [];
    for await (const { source, outcome } of classifyImages(sources, classifier)) {
      assert.equal(outcome.status, 'ok');
      names.push(source.name);
    }
    assert.deepEqual(
      names,
      sources.map((source) => source.name),
      'in input order',
    );
    assert.deepEqual(classifier.batches, [8, 8, 8, 8, 8, 8]);
    assert.equal(mostAtOnce, DECODES_PER_CORE * availableParallelism());
  });

  it('gives an image that cannot be read or decoded an error outcome, and goes on', async () => {
    const good = readFixtureImage('chelsea.jpg');
    const sources: ImageSource[] = [
      { name: 'good-1.jpg', read: async () => good },
      { name: 'gone.jpg', read: () => Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })) },
      { name: 'text.jpg', read: async () => Buffer.from('not an image') },
      { name: 'good-2.jpg', read: async () => good },
    ];
    const classifier = recordingClassifier(4);
    const outcomes = [];
    for await (const { source, outcome } of classifyImages(sources, classifier, { preprocessConcurrency: 1 }))
      outcomes.push([source.name, outcome.status]);
    assert.deepEqual(outcomes, [
      ['good-1.jpg', 'ok'],
      ['gone.jpg', 'error'],
      ['text.jpg', 'error'],
      ['good-2.jpg', 'ok'],
    ]);
    assert.deepEqual(classifier.batches, [2], 'only the decoded images are run');
  });
});
