import ort from 'onnxruntime-node';
import { ALEXNET_LAYERS } from '../alexnet-architecture.js';
import { buildAlexNetOnnx, layerOutputName, type AlexNetParameterSource } from '../build-alexnet-onnx.js';
import { MODEL_INPUT } from '../constants.js';
import { packBatch } from '../normalize.js';
import type { ActivationRanges } from './build-qdq-alexnet.js';

/** Options of {@link calibrateActivations}. */
export interface CalibrationOptions {
  /** Images per calibration run. Default: 8. */
  readonly batchSize?: number;
  /** CPU threads for the calibration runs. Default: ONNX Runtime's choice (all cores). */
  readonly threads?: number;
}

const RELU_LAYERS = ALEXNET_LAYERS.filter((layer) => layer.kind === 'relu');

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
 * every ReLU's output tapped, and keeps the largest value each ReLU wrote (min-max calibration: no
 * calibration value is clipped). The fp32 model is built in memory from the same parameters.
 */
export async function calibrateActivations(
  parameters: AlexNetParameterSource,
  images: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: CalibrationOptions = {},
): Promise<{ ranges: ActivationRanges; imageCount: number }> {
  const batchSize = options.batchSize ?? 8;
  const tapped = RELU_LAYERS.map(layerOutputName);
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
  let imageCount = 0;
  const runBatch = async (batch: Uint8Array[]) => {
    session ??= await openSession();
    const { input, dims } = packBatch(batch);
    const outputs = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
    RELU_LAYERS.forEach((layer, i) => {
      const values = outputs[tapped[i]!]!.data as Float32Array;
      let largest = maxima.get(layer.name)!;
      for (let j = 0; j < values.length; j++) if (values[j]! > largest) largest = values[j]!;
      maxima.set(layer.name, largest);
    });
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
  return { ranges: { input: normalizedInputRange(), reluMaxima: maxima }, imageCount };
}
