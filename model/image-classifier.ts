import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { imagenetClassNames } from './class-labels.js';
import type { Device } from './devices.js';
import { InferenceSession, type InferenceSessionOptions } from './inference-session.js';
import { readModelFile, type ModelIdentity } from './model-file.js';
import { topKLabels, type LabelScore } from './postprocess.js';
import { resolveModelPath, type ModelSource, type ResolveModelOptions } from './resolve-model.js';
import type { Precision } from './constants.js';

/** The cached int8 model of an fp32 one. Loaded only here: a run in fp32 never carries the quantizer. */
async function int8ModelOf(fp32Path: string, options: ImageClassifierOptions, logger: Logger): Promise<string> {
  const { ensureInt8Model } = await import('./quantize/int8-model.js');
  return ensureInt8Model(fp32Path, { cacheDirectory: options.cacheDirectory, logger });
}

/** Options of {@link ImageClassifier.load}. */
export interface ImageClassifierOptions extends InferenceSessionOptions, Omit<ResolveModelOptions, 'logger'> {
  /** How many labels each image gets. Default: 5. */
  readonly topK?: number;
  /**
   * `int8`: run the model quantized (made once from the resolved fp32 model and cached, see
   * `ensureInt8Model`), on the CPU. Default: `fp32`, the model as it is.
   */
  readonly precision?: Precision;
}

/** What the pipelines need of a classifier: decoded images in, labelled top-k predictions out. */
export interface BatchClassifier {
  readonly model: ModelIdentity;
  readonly device: Device;
  readonly maxBatchSize: number;
  readonly topK: number;
  classifyBatch(images: readonly Uint8Array[]): Promise<LabelScore[][]>;
}

/**
 * The model as callers see it: decoded images in, labelled top-k predictions out. Inference runs
 * as three stages a reader can see — preprocess (`decodeImage` on the caller's side, normalisation
 * on the inference thread), run (one ONNX session) and postprocess (softmax, top-k, names) — each
 * tested alone.
 */
export class ImageClassifier implements BatchClassifier {
  private constructor(
    private readonly session: InferenceSession,
    private readonly classNames: readonly string[],
    readonly topK: number,
    readonly modelPath: string,
    readonly modelSource: ModelSource,
  ) {}

  /** Resolves the model (see `resolveModelPath`), reads it once, and opens the session. */
  static async load(options: ImageClassifierOptions = {}, logger: Logger = silentLogger): Promise<ImageClassifier> {
    const topK = options.topK ?? 5;
    const resolved = await resolveModelPath({ ...options, logger });
    const modelPath = options.precision === 'int8' ? await int8ModelOf(resolved.path, options, logger) : resolved.path;
    const modelFile = await readModelFile(modelPath);
    const int8Device =
      modelFile.identity.precision === 'int8'
        ? (await import('./quantize/cpu-int8-support.js')).deviceForInt8Model(options.device ?? 'auto', logger)
        : undefined;
    const session = await InferenceSession.create(modelFile, {
      ...options,
      device: int8Device?.device ?? options.device,
      deviceReason: int8Device?.reason,
      logger,
    });
    const classNames = imagenetClassNames();
    if (!Number.isInteger(topK) || topK < 1 || topK > classNames.length) {
      await session.dispose();
      throw new RangeError(`topK must be an integer from 1 to ${classNames.length}, got ${topK}`);
    }
    return new ImageClassifier(session, classNames, topK, modelPath, resolved.source);
  }

  get model(): ModelIdentity {
    return this.session.model;
  }

  get device(): Device {
    return this.session.device;
  }

  get maxBatchSize(): number {
    return this.session.maxBatchSize;
  }

  /**
   * Classifies up to `maxBatchSize` decoded images (`decodeImage`'s 224×224 RGB) in one inference
   * run; the inference thread normalises them (see `packBatch`).
   */
  async classifyBatch(images: readonly Uint8Array[]): Promise<LabelScore[][]> {
    if (images.length === 0) return [];
    return this.postprocess(await this.session.run(images), images.length);
  }

  private postprocess(logits: Float32Array, count: number): LabelScore[][] {
    const classCount = this.classNames.length;
    return Array.from({ length: count }, (_, i) => topKLabels(logits, this.classNames, this.topK, i * classCount));
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
