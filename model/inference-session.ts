import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { CLASS_COUNT, IMAGE_TENSOR_LENGTH, MODEL_INPUT } from './constants.js';
import { ModelError } from './errors.js';
import type { ModelFile, ModelIdentity } from './model-file.js';

export const DEVICES = ['auto', 'cpu', 'cuda'] as const;
/** `auto` uses CUDA when its provider loads and the CPU otherwise; `cuda` insists on the GPU. */
export type DeviceChoice = (typeof DEVICES)[number];
export type Device = Exclude<DeviceChoice, 'auto'>;

/** Options of {@link InferenceSession.create}. */
export interface InferenceSessionOptions {
  /** Where to run. Default: `auto`. */
  readonly device?: DeviceChoice;
  /** Threads for one CPU inference. Default: the machine's available parallelism. */
  readonly threads?: number;
  /** Largest batch one `run` accepts. Default: 32. */
  readonly maxBatchSize?: number;
  /** Where the device choice is logged. Default: silent. */
  readonly logger?: Logger;
}

/**
 * The one owner of the ONNX Runtime session: created once, reused for every batch, disposed on
 * shutdown. Checks that the model takes `[N,3,224,224]` floats and gives `[N,1000]`, whatever its
 * input and output are named.
 */
export class InferenceSession {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly model: ModelIdentity,
    readonly device: Device,
    readonly maxBatchSize: number,
    readonly inputName: string,
    readonly outputName: string,
  ) {}

  static async create(modelFile: ModelFile, options: InferenceSessionOptions = {}): Promise<InferenceSession> {
    const logger = options.logger ?? silentLogger;
    const maxBatchSize = options.maxBatchSize ?? 32;
    const threads = options.threads ?? availableParallelism();
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    };
    const { session, device, reason } = await openOnDevice(modelFile, sessionOptions, options.device ?? 'auto');
    logger.info({ device, reason, threads, model: modelFile.path, sha256: modelFile.identity.sha256 }, 'inference device chosen');
    const inputName = session.inputNames[0];
    const outputName = session.outputNames[0];
    if (session.inputNames.length !== 1 || session.outputNames.length !== 1 || !inputName || !outputName) {
      await session.release();
      throw invalidModel(modelFile, `it has ${session.inputNames.length} inputs and ${session.outputNames.length} outputs`);
    }
    const inference = new InferenceSession(session, modelFile.identity, device, maxBatchSize, inputName, outputName);
    await inference.checkSignature(modelFile);
    return inference;
  }

  /**
   * Runs `count` images laid out back to back in `batch` (each `[3,224,224]`) and returns their
   * logits, `count × 1000` floats.
   */
  async run(batch: Float32Array, count: number): Promise<Float32Array> {
    if (count < 1 || count > this.maxBatchSize) {
      throw new RangeError(`batch of ${count} images is outside 1..${this.maxBatchSize}`);
    }
    const input = new ort.Tensor('float32', batch.subarray(0, count * IMAGE_TENSOR_LENGTH), [
      count,
      MODEL_INPUT.channels,
      MODEL_INPUT.cropSize,
      MODEL_INPUT.cropSize,
    ]);
    let outputs: ort.InferenceSession.OnnxValueMapType;
    try {
      outputs = await this.session.run({ [this.inputName]: input });
    } catch (error) {
      throw new ModelError('INFERENCE_FAILED', `inference on a batch of ${count} failed: ${(error as Error).message}`, { cause: error });
    }
    const logits = outputs[this.outputName] as ort.Tensor;
    return logits.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  /** One image of zeros must give `[1,1000]` floats; anything else is not an ImageNet classifier. */
  private async checkSignature(modelFile: ModelFile): Promise<void> {
    const [input] = this.session.inputMetadata;
    if (input?.isTensor && input.type !== 'float32') {
      await this.dispose();
      throw invalidModel(modelFile, `its input is ${input.type}, not float32`);
    }
    const probe = new ort.Tensor('float32', new Float32Array(IMAGE_TENSOR_LENGTH), [1, 3, MODEL_INPUT.cropSize, MODEL_INPUT.cropSize]);
    let output: ort.Tensor | undefined;
    try {
      output = (await this.session.run({ [this.inputName]: probe }))[this.outputName] as ort.Tensor;
    } catch (error) {
      await this.dispose();
      throw invalidModel(modelFile, `it does not accept a [N,3,224,224] float input (${(error as Error).message.split('\n')[0]})`, error);
    }
    if (output.type !== 'float32' || output.dims.length !== 2 || output.dims[0] !== 1 || output.dims[1] !== CLASS_COUNT) {
      await this.dispose();
      throw invalidModel(modelFile, `its output is ${output.type} [${output.dims.join(',')}] for one image, not float32 [1,${CLASS_COUNT}]`);
    }
  }
}

async function openOnDevice(
  modelFile: ModelFile,
  sessionOptions: ort.InferenceSession.SessionOptions,
  choice: DeviceChoice,
): Promise<{ session: ort.InferenceSession; device: Device; reason: string }> {
  if (choice === 'auto' && !cudaProviderInstalled()) {
    const reason = 'the CUDA provider binaries are not installed (install with ONNXRUNTIME_NODE_INSTALL=cuda12)';
    return { session: await openOnCpu(modelFile, sessionOptions), device: 'cpu', reason };
  }
  if (choice !== 'cpu') {
    try {
      // Fatal-only logging for the attempt: a failed CUDA load is reported through our error or log line.
      const session = await ort.InferenceSession.create(modelFile.bytes, { ...sessionOptions, logSeverityLevel: 4, executionProviders: ['cuda'] });
      return { session, device: 'cuda', reason: choice === 'cuda' ? 'requested' : 'the CUDA provider loaded' };
    } catch (error) {
      const detail = (error as Error).message.split('\n')[0] ?? '';
      if (choice === 'cuda') {
        throw new ModelError('DEVICE_UNAVAILABLE', `--device cuda was requested but the CUDA provider cannot be used: ${detail}`, { cause: error });
      }
      const session = await openOnCpu(modelFile, sessionOptions);
      return { session, device: 'cpu', reason: `the CUDA provider is unavailable (${detail})` };
    }
  }
  return { session: await openOnCpu(modelFile, sessionOptions), device: 'cpu', reason: 'requested' };
}

async function openOnCpu(modelFile: ModelFile, sessionOptions: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(modelFile.bytes, { ...sessionOptions, executionProviders: ['cpu'] });
  } catch (error) {
    throw invalidModel(modelFile, (error as Error).message.split('\n')[0] ?? 'ONNX Runtime cannot load it', error);
  }
}

/**
 * onnxruntime-node ships the CPU provider; the CUDA provider library is added by its install script
 * only when asked. Looking for the file first keeps `auto` on a CPU machine quiet (the native
 * loader otherwise prints an error before the fallback).
 */
export function cudaProviderInstalled(): boolean {
  const packageMain = createRequire(import.meta.url).resolve('onnxruntime-node');
  const binaries = path.join(path.dirname(packageMain), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(path.join(binaries, 'libonnxruntime_providers_cuda.so'));
}

function invalidModel(modelFile: ModelFile, why: string, cause?: unknown): ModelError {
  return new ModelError('MODEL_INVALID', `${modelFile.path} is not a usable AlexNet-style classifier: ${why}`, {
    cause,
    context: { path: modelFile.path },
  });
}
