import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BatchInputBuffers,
  IMAGE_TENSOR_LENGTH,
  MODEL_INPUT,
  normalizeRgbToChw,
  packBatch,
} from '../../model/index.js';

const IMAGE_BYTES = IMAGE_TENSOR_LENGTH;

/** Whether two views share memory (assert.equal on ArrayBuffers would diff 600 KB of bytes on failure). */
function sameMemory(a: Float32Array, b: Float32Array): boolean {
  return a.buffer === b.buffer;
}

/** A decoded 224×224 RGB image whose bytes differ from image to image. */
function image(seed: number): Uint8Array {
  return Uint8Array.from({ length: IMAGE_BYTES }, (_, i) => (i * 31 + seed * 97) & 255);
}

describe('normalizeRgbToChw', () => {
  it("writes (x / 255 − mean) / std of each byte to its channel's plane, at the offset, as float32", () => {
    const pixels = 256;
    // Pixel p: red p, green 255 − p, blue (7p) mod 256: every byte value in every channel.
    const rgb = Uint8Array.from({ length: pixels * 3 }, (_, i) => {
      const [pixel, channel] = [Math.floor(i / 3), i % 3];
      return [pixel, 255 - pixel, (7 * pixel) % 256][channel]!;
    });
    const offset = 5;
    const target = new Float32Array(offset + pixels * 3 + 2).fill(-99);
    normalizeRgbToChw(rgb, pixels, target, offset);
    for (let channel = 0; channel < 3; channel++)
      for (let pixel = 0; pixel < pixels; pixel++) {
        const expected = (rgb[pixel * 3 + channel]! / 255 - MODEL_INPUT.mean[channel]!) / MODEL_INPUT.std[channel]!;
        const got = target[offset + channel * pixels + pixel]!;
        assert.ok(
          Math.abs(got - expected) <= 4e-7 * Math.max(1, Math.abs(expected)),
          `channel ${channel}, pixel ${pixel}: ${got} ≠ ${expected}`,
        );
      }
    assert.deepEqual(
      [...target.subarray(0, offset), ...target.subarray(offset + pixels * 3)],
      Array(offset + 2).fill(-99),
    );
  });
});

describe('BatchInputBuffers', () => {
  it('packs the same floats as packBatch, bit for bit, in a view of the batch’s length', () => {
    const images = [image(1), image(2), image(3)];
    const buffers = new BatchInputBuffers();
    buffers.pack([image(4), image(5), image(6), image(7)]).release(); // a larger buffer, now idle
    const packed = buffers.pack(images);
    const fresh = packBatch(images);
    assert.deepEqual(packed.dims, fresh.dims);
    assert.equal(packed.input.length, fresh.input.length);
    assert.ok(packed.input.every((value, i) => Object.is(value, fresh.input[i])));
  });

  it('lends a released buffer again instead of allocating one per batch', () => {
    const buffers = new BatchInputBuffers();
    const first = buffers.pack([image(1), image(2)]);
    const memory = first.input.buffer;
    first.release();
    const second = buffers.pack([image(3)]);
    assert.ok(second.input.buffer === memory, 'the idle buffer is reused');
    assert.equal(second.input.length, IMAGE_TENSOR_LENGTH);
  });

  it('never lends one buffer to two batches at once', () => {
    const buffers = new BatchInputBuffers();
    const running = buffers.pack([image(1)]);
    const next = buffers.pack([image(2)]);
    assert.ok(!sameMemory(next.input, running.input), 'a lent buffer is not lent again');
    // Packing `next` left the running batch's input as it was.
    const expected = packBatch([image(1)]).input;
    assert.ok(running.input.every((value, i) => Object.is(value, expected[i])));
    running.release();
    running.release(); // a second release is ignored: the buffer is not idle twice
    next.release();
    assert.equal(buffers.idleCount, 2);
    const a = buffers.pack([image(3)]);
    const b = buffers.pack([image(4)]);
    assert.ok(!sameMemory(a.input, b.input), 'one buffer lent twice');
  });

  it('holds at most `keep` idle buffers, and none too small for the largest batch seen', () => {
    const buffers = new BatchInputBuffers(1);
    const lent = [buffers.pack([image(1)]), buffers.pack([image(2)]), buffers.pack([image(3)])];
    for (const batch of lent) batch.release();
    assert.equal(buffers.idleCount, 1);
    const small = buffers.pack([image(4)]);
    const large = buffers.pack([image(5), image(6), image(7)]);
    small.release(); // smaller than the largest batch seen: dropped, not kept
    assert.equal(buffers.idleCount, 0);
    large.release();
    assert.equal(buffers.idleCount, 1);
    assert.ok(sameMemory(buffers.pack([image(8)]).input, large.input), 'the large buffer is kept');
  });
});
