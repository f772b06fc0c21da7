import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { decodeImage, ImageClassifier, ModelError, type Device } from '../../model/index.js';
import { readGpuEnvironment, type GpuEnvironment } from './gpu-environment.js';
import { compareTopFive, type GpuReport, type ThroughputRow } from './gpu-report.js';

/** Options of {@link runGpuCheck}. */
export interface GpuCheckOptions {
  /** Images to compare the devices on (the samples). */
  readonly images: readonly string[];
  /** Batch sizes to measure. Default: 1, 8, 32, 64. */
  readonly batchSizes?: readonly number[];
  /** How long each measurement runs, seconds. Default: 3. */
  readonly secondsPerMeasurement?: number;
  /** The model (default: the one every command resolves: model/alexnet.onnx, else the dev model). */
  readonly modelPath?: string;
  /** The device under check. Default: `cuda`; a test stands the CPU in for it, as no GPU runs here. */
  readonly device?: Device;
  /** What the machine has. Default: read from it. */
  readonly environment?: GpuEnvironment;
  readonly logger?: Logger;
}

/**
 * Proves a GPU for the worker: opens the model on the device under check (CUDA) and on the CPU,
 * classifies the sample images on both and compares their top-5 labels, and measures images per
 * second at each batch size on both. A provider that does not load is reported with ONNX Runtime's
 * own reason (the library or symbol it could not find), and nothing more is measured.
 */
export async function runGpuCheck(options: GpuCheckOptions): Promise<GpuReport> {
  const environment = options.environment ?? readGpuEnvironment();
  const batchSizes = options.batchSizes ?? [1, 8, 32, 64];
  const largest = Math.max(...batchSizes);
  const open = (device: Device) =>
    ImageClassifier.load({ modelPath: options.modelPath, device, maxBatchSize: largest, topK: 5 }, options.logger);
  let accelerated: ImageClassifier;
  try {
    accelerated = await open(options.device ?? 'cuda');
  } catch (error) {
    if (error instanceof ModelError && error.code === 'DEVICE_UNAVAILABLE')
      return { environment, provider: { loaded: false, error: error.message } };
    throw error;
  }
  const cpu = await open('cpu').catch(async (error: unknown) => {
    await accelerated.dispose();
    throw error;
  });
  try {
    const images = await Promise.all(
      options.images.map(async (file) => ({
        name: path.basename(file),
        rgb: (await decodeImage(await readFile(file))).rgb,
      })),
    );
    const agreement = [];
    for (const image of images) {
      const [[onAccelerated], [onCpu]] = await Promise.all([
        accelerated.classifyBatch([image.rgb]),
        cpu.classifyBatch([image.rgb]),
      ]);
      agreement.push({ image: image.name, ...compareTopFive(onAccelerated!, onCpu!) });
    }
    const throughput: ThroughputRow[] = [];
    for (const batchSize of batchSizes) {
      const batch = Array.from({ length: batchSize }, (_, i) => images[i % images.length]!.rgb);
      const seconds = options.secondsPerMeasurement ?? 3;
      throughput.push({
        batchSize,
        cudaImagesPerSecond: await imagesPerSecond(accelerated, batch, seconds),
        cpuImagesPerSecond: await imagesPerSecond(cpu, batch, seconds),
      });
    }
    return { environment, provider: { loaded: true }, agreement, throughput };
  } finally {
    await Promise.all([accelerated.dispose(), cpu.dispose()]);
  }
}

/** Images per second of one classifier on one batch, after a warm-up run, over at least two runs and `seconds`. */
async function imagesPerSecond(
  classifier: ImageClassifier,
  batch: readonly Uint8Array[],
  seconds: number,
): Promise<number> {
  await classifier.classifyBatch(batch);
  const started = performance.now();
  let runs = 0;
  while (runs < 2 || performance.now() - started < seconds * 1000) {
    await classifier.classifyBatch(batch);
    runs++;
  }
  return (runs * batch.length) / ((performance.now() - started) / 1000);
}
