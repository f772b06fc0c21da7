import ort from 'onnxruntime-node';
import { ALEXNET_LAYERS, type AlexNetLayer } from '../alexnet-architecture.js';
import { buildAlexNetOnnx, layerOutputName, type AlexNetParameterSource } from '../build-alexnet-onnx.js';
import { MODEL_INPUT } from '../constants.js';
import { packBatch } from '../normalize.js';
import type { CalibrationStatistics } from './build-qdq-alexnet.js';

/** Options of {@link calibrateActivations}. */
export interface CalibrationOptions {
  /** Images per calibration run. Default: 8. */
  readonly batchSize?: number;
  /** CPU threads for the calibration runs. Default: ONNX Runtime's choice (all cores). */
  readonly threads?: number;
}

const RELU_LAYERS = ALEXNET_LAYERS.filter((layer) => layer.kind === 'relu');
/** Each Conv and Gemm after the first, with the tensor it reads (the layer before it writes it). */
const LATER_WEIGHTED_LAYERS = ALEXNET_LAYERS.flatMap((layer, index) =>
  (layer.kind === 'conv' || layer.kind === 'linear') && index > 0
    ? [{ name: layer.name, input: layerOutputName(ALEXNET_LAYERS[index - 1]!) }]
    : [],
);
const FIRST_LAYER: AlexNetLayer = ALEXNET_LAYERS[0]!;

/** Sums of each channel's mean (over positions) per image: `[images, channels, …positions]`. */
class ChannelMeans {
  private readonly sums = new Map<string, Float64Array>();
  private readonly images = new Map<string, number>();

  add(name: string, values: Float32Array, dims: readonly number[]): void {
    const [images, channels] = [dims[0]!, dims[1]!];
    const positions = dims.slice(2).reduce((product, size) => product * size, 1);
    const sums = this.sums.get(name) ?? new Float64Array(channels);
    for (let image = 0; image < images; image++)
      for (let channel = 0; channel < channels; channel++) {
        const start = (image * channels + channel) * positions;
        let sum = 0;
        for (let i = start; i < start + positions; i++) sum += values[i]!;
        sums[channel]! += sum / positions;
      }
    this.sums.set(name, sums);
    this.images.set(name, (this.images.get(name) ?? 0) + images);
  }

  means(): Map<string, Float64Array> {
    return new Map([...this.sums].map(([name, sums]) => [name, sums.map((sum) => sum / this.images.get(name)!)]));
  }
}

/**
 * The input's range is known without running anything: ImageNet normalisation of bytes 0…255, over
 * the three channels. Taking it whole means no pixel is ever clipped.
 */
export function normalizedInputRange(): { min: number; max: number } {
  const ends = MODEL_INPUT.mean.flatMap((mean, channel) => {
    const std = MODEL_INPUT.std[channel]!;
    return [(0 - mean) / std, (1 - mean) / std];
  });
  return { min: Math.min(...ends), max: Math.max(...ends) };
}

/**
 * Runs the calibration images (decoded 224×224 RGB, see `decodeImage`) through the fp32 model with
 * every ReLU's output and every Conv's and Gemm's input tapped, and keeps the largest value each
 * ReLU wrote (min-max calibration: no calibration value is clipped) and the mean of each channel
 * of each Conv's and Gemm's input (for the bias correction). The fp32 model is built in memory from
 * the same parameters.
 */
export async function calibrateActivations(
  parameters: AlexNetParameterSource,
  images: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: CalibrationOptions = {},
): Promise<{ statistics: CalibrationStatistics; imageCount: number }> {
  const batchSize = options.batchSize ?? 8;
  const tapped = [
    ...new Set([...RELU_LAYERS.map(layerOutputName), ...LATER_WEIGHTED_LAYERS.map(({ input }) => input)]),
  ];
  // Made at the first decoded image: a calibration set of which nothing decodes fails without
  // building and loading a 244 MB model first.
  let session: ort.InferenceSession | undefined;
  const openSession = async () => {
    const model = buildAlexNetOnnx(parameters, { weights: 'calibration', docString: '' }, { tappedOutputs: tapped });
    return ort.InferenceSession.create(model, {
      graphOptimizationLevel: 'all',
      executionProviders: ['cpu'],
      ...(options.threads && { intraOpNumThreads: options.threads }),
    });
  };
  const maxima = new Map(RELU_LAYERS.map((layer) => [layer.name, 0]));
  const means = new ChannelMeans();
  let imageCount = 0;
  const runBatch = async (batch: Uint8Array[]) => {
    session ??= await openSession();
    const { input, dims } = packBatch(batch);
    const outputs = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
    for (const layer of RELU_LAYERS) {
      const values = outputs[layerOutputName(layer)]!.data as Float32Array;
      let largest = maxima.get(layer.name)!;
      for (let j = 0; j < values.length; j++) if (values[j]! > largest) largest = values[j]!;
      maxima.set(layer.name, largest);
    }
    means.add(FIRST_LAYER.name, input, dims);
    for (const { name, input: tensor } of LATER_WEIGHTED_LAYERS) {
      const output = outputs[tensor]!;
      means.add(name, output.data as Float32Array, output.dims);
    }
    imageCount += batch.length;
  };
  try {
    let batch: Uint8Array[] = [];
    for await (const image of images) {
      batch.push(image);
      if (batch.length === batchSize) {
        await runBatch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await runBatch(batch);
  } finally {
    await session?.release();
  }
  return { statistics: { input: normalizedInputRange(), reluMaxima: maxima, inputMeans: means.means() }, imageCount };
}
