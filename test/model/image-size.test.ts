import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { centerCropRegion, resizedSize, roundHalfToEven, uprightSize } from '../../model/index.js';

describe('resizedSize', () => {
  it('sets the shorter side to 256 and truncates the longer side like int() in Python', () => {
    assert.deepEqual(resizedSize({ width: 451, height: 300 }), { width: 384, height: 256 }); // 384.85 → 384
    assert.deepEqual(resizedSize({ width: 300, height: 400 }), { width: 256, height: 341 }); // 341.33 → 341
    assert.deepEqual(resizedSize({ width: 512, height: 512 }), { width: 256, height: 256 });
    assert.deepEqual(resizedSize({ width: 4032, height: 3024 }), { width: 341, height: 256 });
    assert.deepEqual(resizedSize({ width: 100, height: 50 }), { width: 512, height: 256 });
  });
});

describe('centerCropRegion', () => {
  it('uses Python rounding of (size − 224) / 2: halves go to the even number', () => {
    assert.deepEqual(centerCropRegion({ width: 384, height: 256 }), { left: 80, top: 16, width: 224, height: 224 });
    assert.deepEqual(centerCropRegion({ width: 256, height: 341 }), { left: 16, top: 58, width: 224, height: 224 }); // 58.5 → 58
    assert.deepEqual(centerCropRegion({ width: 256, height: 259 }), { left: 16, top: 18, width: 224, height: 224 }); // 17.5 → 18
  });
});

describe('roundHalfToEven', () => {
  it('matches Python 3 round()', () => {
    assert.deepEqual([0.5, 1.5, 2.5, 3.5, 2.4, 2.6, 0].map(roundHalfToEven), [0, 2, 2, 4, 2, 3, 0]);
  });
});

describe('uprightSize', () => {
  it('swaps width and height for EXIF orientations 5 to 8 only', () => {
    for (const orientation of [undefined, 1, 2, 3, 4])
      assert.deepEqual(uprightSize({ width: 3, height: 2 }, orientation), { width: 3, height: 2 });
    for (const orientation of [5, 6, 7, 8])
      assert.deepEqual(uprightSize({ width: 3, height: 2 }, orientation), { width: 2, height: 3 });
  });
});
