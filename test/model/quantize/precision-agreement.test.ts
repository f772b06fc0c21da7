import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { comparePrecisions } from '../../../model/quantize/precision-agreement.js';

/** Logits of one image: zeros, with the given classes set. */
function logits(values: Record<number, number>): Float32Array {
  const image = new Float32Array(1000);
  for (const [index, value] of Object.entries(values)) image[Number(index)] = value;
  return image;
}

function images(...each: Float32Array[]): Float32Array {
  const all = new Float32Array(each.length * 1000);
  each.forEach((image, i) => all.set(image, i * 1000));
  return all;
}

describe('comparePrecisions', () => {
  it('counts top-1 agreement, top-5 overlap, the largest score difference and mean |Δlogit|', () => {
    const reference = images(logits({ 1: 9, 2: 8, 3: 7, 4: 6, 5: 5 }), logits({ 10: 9, 11: 8.99 }));
    const candidate = images(logits({ 1: 9, 2: 8, 3: 7, 4: 6, 6: 5 }), logits({ 10: 8.99, 11: 9 }));
    const agreement = comparePrecisions(reference, candidate);
    assert.equal(agreement.images, 2);
    assert.equal(agreement.top1Agreement, 0.5);
    assert.deepEqual(agreement.disagreeing, [1]);
    // Image 0: 4 of 5 shared; image 1: classes 10 and 11 then three zero-logit classes, the same ones.
    assert.equal(agreement.top5Overlap, (4 / 5 + 5 / 5) / 2);
    assert.ok(Math.abs(agreement.meanLogitDifference - (5 + 5 + 0.01 + 0.01) / 2000) < 1e-9);
    // Class 5 of image 0 (logit 5 → 0) moves the most: e^5 / (e^9 + e^8 + e^7 + e^6 + e^5 + 995) ≈ 0.0108.
    assert.ok(Math.abs(agreement.maxScoreDifference - 0.0108) < 0.0005, String(agreement.maxScoreDifference));
  });

  it('leaves out a shift of all of an image’s logits from the centred error, which ranks ignore', () => {
    const reference = images(logits({ 1: 2, 2: 1 }), logits({ 3: 4 }));
    const shifted = images(
      logits(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [i, (i === 1 ? 2 : i === 2 ? 1 : 0) + 0.5]))),
      logits({ 3: 4, 7: 0.1 }),
    );
    const agreement = comparePrecisions(reference, shifted);
    assert.equal(agreement.top1Agreement, 1);
    assert.ok(Math.abs(agreement.meanLogitDifference - (0.5 * 1000 + 0.1) / 2000) < 1e-6);
    // Image 0 is a pure shift (no centred error); image 1 moves one class by 0.1: its centred
    // differences are 0.1 − 0.0001 once and −0.0001 999 times.
    const image1 = (0.1 - 0.0001) ** 2 + 999 * 0.0001 ** 2;
    assert.ok(Math.abs(agreement.centredLogitRms - Math.sqrt(image1 / 2000)) < 1e-7, String(agreement.centredLogitRms));
  });

  it('refuses logits of different images', () => {
    assert.throws(() => comparePrecisions(new Float32Array(1000), new Float32Array(2000)), RangeError);
  });
});
