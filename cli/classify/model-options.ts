import { availableParallelism } from 'node:os';
import { Option, type Command } from 'commander';
import {
  DEFAULT_PREPROCESS_OPTIONS,
  DEVICES,
  PRECISIONS,
  type DeviceChoice,
  type Precision,
  type ImageClassifierOptions,
  type PreprocessOptions,
} from '../../model/index.js';
import { integerInRange } from '../support/option-parsers.js';
import { createProgress } from '../support/progress-bar.js';

/** Options shared by every command that runs the model. */
export interface ModelCommandOptions {
  model?: string;
  topK: number;
  batchSize: number;
  device: DeviceChoice;
  precision: Precision;
  threads: number;
  maxBytes: number;
  maxPixels: number;
  /** `--offline`: never download the pretrained weights (`ALEXNET_OFFLINE=1` does the same). */
  offline?: boolean;
}

/** Adds `--model`, `--offline`, `--top-k`, `--batch-size`, `--device`, `--precision`, `--threads`, `--max-bytes`, `--max-pixels`. */
export function addModelOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--model <path>',
        'ONNX model file (default: model/alexnet.onnx, else the pretrained weights in the per-user cache — fetched on first use — else the untrained dev model; `model status` says which)',
      ).env('MODEL_PATH'),
    )
    .addOption(
      new Option(
        '--offline',
        'never download the pretrained weights: a cached model, else the untrained dev model (also ALEXNET_OFFLINE=1)',
      ),
    )
    .addOption(new Option('--top-k <k>', 'labels per image').argParser(integerInRange(1, 1000)).default(5))
    .addOption(new Option('--batch-size <n>', 'images per inference run').argParser(integerInRange(1, 256)).default(32))
    .addOption(new Option('--device <device>', 'where inference runs').choices(DEVICES).default('auto'))
    .addOption(
      new Option(
        '--precision <precision>',
        'fp32, or int8: the model quantized once (cached) and run on the CPU — about 3× the images per second on a CPU with VNNI',
      )
        .choices(PRECISIONS)
        .default('fp32')
        .env('PRECISION'),
    )
    .addOption(
      new Option('--threads <n>', 'CPU threads for inference')
        .argParser(integerInRange(1, 256))
        .default(availableParallelism()),
    )
    .addOption(
      new Option('--max-bytes <n>', 'largest image file accepted, bytes')
        .argParser(integerInRange(1, 2 ** 31))
        .default(DEFAULT_PREPROCESS_OPTIONS.maxBytes),
    )
    .addOption(
      new Option('--max-pixels <n>', 'largest image accepted, pixels')
        .argParser(integerInRange(1, 2 ** 31))
        .default(DEFAULT_PREPROCESS_OPTIONS.maxPixels),
    );
}

/** The classifier's options from the parsed command line. */
export function classifierOptionsFrom(options: ModelCommandOptions): ImageClassifierOptions {
  return {
    modelPath: options.model,
    offline: options.offline === true,
    downloadProgress: (total) => createProgress(total, 'pretrained weights'),
    topK: options.topK,
    maxBatchSize: options.batchSize,
    device: options.device,
    precision: options.precision,
    threads: options.threads,
  };
}

/** The preprocessing limits from the parsed command line. */
export function preprocessOptionsFrom(options: ModelCommandOptions): PreprocessOptions {
  return { maxBytes: options.maxBytes, maxPixels: options.maxPixels };
}
