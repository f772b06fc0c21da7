/**
 * The arithmetic of static int8 quantization, as ONNX's QuantizeLinear defines it:
 * `q = saturate(round(x / scale) + zeroPoint)`, and back `x ≈ (q − zeroPoint) × scale`.
 */

/** Scale and zero point of an 8-bit activation tensor (uint8, per tensor). */
export interface ActivationQuantization {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Weights of one Conv or Gemm as symmetric int8 per output channel (zero point 0). */
export interface ChannelQuantizedWeights {
  readonly values: Int8Array;
  /** One scale per output channel: its largest |weight| / 127. */
  readonly scales: Float32Array;
}

/** Symmetric int8 keeps −128 unused, so that −q is always representable (what ONNX Runtime's quantizer does). */
const INT8_LIMIT = 127;
const UINT8_MAX = 255;
/** A channel or range of all zeros still needs a positive scale: any will do, its values quantize to 0. */
const SCALE_OF_ZEROS = 1;

/** Round half to even, as QuantizeLinear rounds. */
export function roundHalfToEven(x: number): number {
  const rounded = Math.round(x);
  return Math.abs(x % 1) === 0.5 && rounded % 2 !== 0 ? rounded - 1 : rounded;
}

/**
 * Per-output-channel symmetric int8 of a weight laid out `[channels, …]` (Conv's `[out, in, k, k]`,
 * Gemm's `[out, in]` with transB): each channel's scale maps its largest |weight| to 127.
 */
export function quantizeWeightsPerChannel(weights: Float32Array, channels: number): ChannelQuantizedWeights {
  const perChannel = weights.length / channels;
  if (!Number.isInteger(perChannel))
    throw new RangeError(`${weights.length} weights do not split into ${channels} channels`);
  const values = new Int8Array(weights.length);
  const scales = new Float32Array(channels);
  for (let channel = 0; channel < channels; channel++) {
    const start = channel * perChannel;
    let largest = 0;
    for (let i = start; i < start + perChannel; i++) largest = Math.max(largest, Math.abs(weights[i]!));
    const scale = largest > 0 ? largest / INT8_LIMIT : SCALE_OF_ZEROS;
    scales[channel] = scale;
    // The float32 scale is what the runtime divides by: quantize against it, not the float64 one.
    const stored = scales[channel]!;
    for (let i = start; i < start + perChannel; i++)
      values[i] = Math.max(-INT8_LIMIT, Math.min(INT8_LIMIT, roundHalfToEven(weights[i]! / stored)));
  }
  return { values, scales };
}

/**
 * A bias as int32 at the scale of the product it is added to (input scale × each channel's weight
 * scale), zero point 0: how QLinearConv and QGemm add it in their int32 accumulators.
 */
export function quantizeBias(
  bias: Float32Array,
  inputScale: number,
  weightScales: Float32Array,
): { values: Int32Array; scales: Float32Array } {
  const scales = new Float32Array(bias.length);
  const values = new Int32Array(bias.length);
  for (let channel = 0; channel < bias.length; channel++) {
    scales[channel] = inputScale * weightScales[channel]!;
    const q = roundHalfToEven(bias[channel]! / scales[channel]!);
    values[channel] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, q));
  }
  return { values, scales };
}

/**
 * Asymmetric uint8 for a tensor whose values lie in `[min, max]`; the range is widened to hold 0,
 * so that 0 is exact (padding, and ReLU's floor). A ReLU's output (`min` 0) gets zero point 0.
 */
export function activationQuantization(min: number, max: number): ActivationQuantization {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max)
    throw new RangeError(`an activation range must be finite and ordered, got [${min}, ${max}]`);
  const low = Math.min(min, 0);
  const high = Math.max(max, 0);
  if (high === low) return { scale: SCALE_OF_ZEROS, zeroPoint: 0 };
  const scale = Math.fround((high - low) / UINT8_MAX);
  const zeroPoint = Math.max(0, Math.min(UINT8_MAX, roundHalfToEven(-low / scale)));
  return { scale, zeroPoint };
}

/**
 * Bias correction for the weights' rounding (Nagel et al., "Data-Free Quantization", 2019): the
 * rounded weights `W + ΔW` shift each output channel's mean by `ΔW · E[x]` when their inputs' means
 * are not zero — and after a ReLU they never are. Subtracting that shift from the bias takes out the
 * part of the rounding error that is the same for every image (measured here: about 40% of the
 * logits' error variance on the dev model). `inputMeans` holds one mean per input channel (Conv) or
 * feature (Gemm), over the calibration images and positions; the weights are `[out, in, …]`.
 */
export function biasCorrectedForRounding(
  bias: Float32Array,
  weights: Float32Array,
  quantized: ChannelQuantizedWeights,
  inputMeans: Float64Array,
): Float32Array {
  const channels = bias.length;
  const perChannel = weights.length / channels;
  const perInput = perChannel / inputMeans.length;
  if (!Number.isInteger(perChannel) || !Number.isInteger(perInput) || quantized.values.length !== weights.length)
    throw new RangeError(
      `${weights.length} weights do not match ${channels} outputs of ${inputMeans.length} inputs' means`,
    );
  const corrected = new Float32Array(channels);
  for (let channel = 0; channel < channels; channel++) {
    const scale = quantized.scales[channel]!;
    let shift = 0;
    for (let input = 0; input < inputMeans.length; input++) {
      const start = channel * perChannel + input * perInput;
      let rounding = 0;
      for (let i = start; i < start + perInput; i++) rounding += quantized.values[i]! * scale - weights[i]!;
      shift += rounding * inputMeans[input]!;
    }
    corrected[channel] = bias[channel]! - shift;
  }
  return corrected;
}
