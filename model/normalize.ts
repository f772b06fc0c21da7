import { IMAGE_TENSOR_LENGTH, MODEL_INPUT } from './constants.js';

/**
 * Interleaved 8-bit RGB (HWC) to the network's input: planar CHW floats, scaled to [0, 1] and
 * normalised with the ImageNet mean and standard deviation. Writes into `target` at `offset` so a
 * batch buffer can be filled without copies.
 */
export function normalizeRgbToChw(
  rgb: Uint8Array,
  pixelCount: number,
  target: Float32Array = new Float32Array(pixelCount * 3),
  offset = 0,
): Float32Array {
  if (rgb.length < pixelCount * 3) throw new RangeError(`expected ${pixelCount * 3} RGB bytes, got ${rgb.length}`);
  for (let channel = 0; channel < 3; channel++) {
    const scale = 1 / (255 * MODEL_INPUT.std[channel]!);
    const shift = MODEL_INPUT.mean[channel]! / MODEL_INPUT.std[channel]!;
    const planeStart = offset + channel * pixelCount;
    for (let pixel = 0, source = channel; pixel < pixelCount; pixel++, source += 3) {
      target[planeStart + pixel] = rgb[source]! * scale - shift;
    }
  }
  return target;
}

/** The network's input for a batch: decoded 224×224 RGB images normalised into one `[N,3,224,224]` tensor. */
export function packBatch(images: readonly Uint8Array[]): { input: Float32Array; dims: number[] } {
  const pixelCount = MODEL_INPUT.cropSize * MODEL_INPUT.cropSize;
  const input = new Float32Array(images.length * IMAGE_TENSOR_LENGTH);
  images.forEach((rgb, i) => normalizeRgbToChw(rgb, pixelCount, input, i * IMAGE_TENSOR_LENGTH));
  return { input, dims: [images.length, MODEL_INPUT.channels, MODEL_INPUT.cropSize, MODEL_INPUT.cropSize] };
}
