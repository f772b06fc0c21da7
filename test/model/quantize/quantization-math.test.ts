import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  activationQuantization,
  biasCorrectedForRounding,
  quantizeBias,
  quantizeWeightsPerChannel,
  roundHalfToEven,
} from '../../../model/quantize/quantization-math.js';

describe('quantization arithmetic', () => {
  it('rounds halves to even, as QuantizeLinear does', () => {
    assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, 2.6, -2.6].map(roundHalfToEven), [0, 2, 2, -0, -2, 2, 3, -3]);
  });

  it('gives each output channel its own symmetric scale, its largest |weight| at ±127', () => {
    const weights = Float32Array.of(0.5, -1, 0.25, /* channel 1 */ 0.01, 0.02, -0.03, /* channel 2 */ 0, 0, 0);
    const { values, scales } = quantizeWeightsPerChannel(weights, 3);
    assert.ok(Math.abs(scales[0]! - 1 / 127) < 1e-9);
    assert.ok(Math.abs(scales[1]! - 0.03 / 127) < 1e-9);
    assert.equal(scales[2], 1, 'a channel of zeros still needs a positive scale');
    assert.deepEqual([...values], [64, -127, 32, 42, 85, -127, 0, 0, 0]);
    // Dequantized, every weight is within half a step of itself: per-channel keeps small channels exact.
    for (let i = 0; i < 6; i++)
      assert.ok(Math.abs(values[i]! * scales[Math.floor(i / 3)]! - weights[i]!) <= scales[Math.floor(i / 3)]! / 2);
  });

  it('refuses weights that do not split into the channels', () => {
    assert.throws(() => quantizeWeightsPerChannel(new Float32Array(10), 3), RangeError);
  });

  it('quantizes a bias to int32 at input scale × each channel’s weight scale', () => {
    const { values, scales } = quantizeBias(Float32Array.of(0.3, -0.02), 0.01, Float32Array.of(0.5, 0.001));
    assert.deepEqual(
      [...scales].map((s) => +s.toPrecision(6)),
      [0.005, 0.00001],
    );
    assert.deepEqual([...values], [60, -2000]);
  });

  it('maps an activation range to uint8 with 0 exact, and a ReLU’s range to zero point 0', () => {
    const input = activationQuantization(-2.1179, 2.64);
    assert.ok(Math.abs(input.scale - 4.7579 / 255) < 1e-6);
    assert.equal(input.zeroPoint, 114);
    assert.equal(Math.abs(input.zeroPoint * input.scale - 2.1179) < input.scale, true);
    assert.deepEqual(activationQuantization(0, 25.5), { scale: Math.fround(0.1), zeroPoint: 0 });
    assert.deepEqual(activationQuantization(0, 0), { scale: 1, zeroPoint: 0 });
    assert.throws(() => activationQuantization(1, Number.NaN), RangeError);
    assert.throws(() => activationQuantization(2, 1), RangeError);
  });

  it('corrects a bias for the weights’ rounding: at the inputs’ means, the output is the fp32 one', () => {
    // Two outputs of two input channels × three taps (a Conv's [out, in, k] layout), coarse on purpose.
    const weights = Float32Array.of(
      0.9,
      -0.31,
      0.05,
      0.47,
      0.2,
      -0.66,
      /* output 1 */ 0.013,
      0.5,
      -0.25,
      0.333,
      0.1,
      0.07,
    );
    const quantized = quantizeWeightsPerChannel(weights, 2);
    const bias = Float32Array.of(0.1, -0.2);
    const inputMeans = Float64Array.of(1.7, 0.4);
    const output = (w: (i: number) => number, b: Float32Array, channel: number) => {
      let sum = b[channel]!;
      for (let i = 0; i < 6; i++) sum += w(channel * 6 + i) * inputMeans[Math.floor(i / 3)]!;
      return sum;
    };
    const exact = (i: number) => weights[i]!;
    const rounded = (i: number) => quantized.values[i]! * quantized.scales[Math.floor(i / 6)]!;
    const corrected = biasCorrectedForRounding(bias, weights, quantized, inputMeans);
    for (const channel of [0, 1]) {
      const uncorrectedError = Math.abs(output(rounded, bias, channel) - output(exact, bias, channel));
      assert.ok(uncorrectedError > 1e-4, `the rounding shifts output ${channel} by ${uncorrectedError}`);
      assert.ok(Math.abs(output(rounded, corrected, channel) - output(exact, bias, channel)) < 1e-6);
    }
    assert.throws(() => biasCorrectedForRounding(bias, weights, quantized, new Float64Array(4)), RangeError);
  });
});
