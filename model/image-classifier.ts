import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { imagenetClassNames } from './class-labels.js';
import { IMAGE_TENSOR_LENGTH } from './constants.js';
import type { Device } from './devices.js';
import { InferenceSession, type InferenceSessionOptions } from './inference-session.js';
import { readModelFile, type ModelIdentity } from './model-file.js';
import { topKLabels, type LabelScore } from './postprocess.js';
import { resolveModelPath, type ModelSource, type ResolveModelOptions } from './resolve-model.js';

/** Options of {@link ImageClassifier.load}. */
export interface ImageClassifierOptions extends InferenceSessionOptions, Omit<ResolveModelOptions, 'logger'> {
  /** How many labels each image gets. Default: 5. */
  readonly topK?: number;
}

/**
 * The model as callers see it: preprocessed tensors in, labelled top-k predictions out. The run
 * stage (one ONNX session) and the postprocess stage (softmax, top-k, names) are separate and
 * each tested alone; preprocessing lives in `preprocess.ts`.
 */
export class ImageClassifier {
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
    const modelFile = await readModelFile(resolved.path);
    const session = await InferenceSession.create(modelFile, { ...options, logger });
    const classNames = imagenetClassNames();
    if (!Number.isInteger(topK) || topK < 1 || topK > classNames.length) {
      await session.dispose();
      throw new RangeError(`topK must be an integer from 1 to ${classNames.length}, got ${topK}`);
    }
    return new ImageClassifier(session, classNames, topK, resolved.path, resolved.source);
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

  /** Classifies up to `maxBatchSize` preprocessed (normalised) images in one inference run. */
  async classifyBatch(tensors: readonly Float32Array[]): Promise<LabelScore[][]> {
    if (tensors.length === 0) return [];
    const batch = new Float32Array(tensors.length * IMAGE_TENSOR_LENGTH);
    tensors.forEach((tensor, i) => batch.set(tensor, i * IMAGE_TENSOR_LENGTH));
    return this.postprocess(await this.session.run(batch, tensors.length), tensors.length);
  }

  /**
   * Classifies up to `maxBatchSize` decoded images (`decodeImage`'s 224×224 RGB) in one run; the
   * pipelines use this, leaving normalisation to the inference thread.
   */
  async classifyDecodedBatch(images: readonly Uint8Array[]): Promise<LabelScore[][]> {
    if (images.length === 0) return [];
    return this.postprocess(await this.session.runDecoded(images), images.length);
  }

  private postprocess(logits: Float32Array, count: number): LabelScore[][] {
    const classCount = this.classNames.length;
    return Array.from({ length: count }, (_, i) => topKLabels(logits, this.classNames, this.topK, i * classCount));
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
