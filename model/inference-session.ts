import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Worker as Thread } from 'node:worker_threads';
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { CLASS_COUNT, MODEL_INPUT } from './constants.js';
import type { Device, DeviceChoice } from './devices.js';
import { ModelError, type ModelErrorCode } from './errors.js';
import type { InferenceThreadReply, InferenceThreadRequest } from './inference-thread-protocol.js';
import type { ModelFile, ModelIdentity } from './model-file.js';
import { disableRuntimeTelemetry } from './runtime-telemetry.js';
import { PipelineError } from '../common/errors.js';

/** Options of {@link InferenceSession.create}. */
export interface InferenceSessionOptions {
  /** Where to run. Default: `auto`. */
  readonly device?: DeviceChoice;
  /** Threads for one CPU inference. Default: the machine's available parallelism. */
  readonly threads?: number;
  /** Largest batch one `run` accepts. Default: 32. */
  readonly maxBatchSize?: number;
  /**
   * A batch still running after this long means the inference thread is stuck: the run fails
   * with `INFERENCE_TIMEOUT` and the session refuses every later run. Default: 60 s.
   */
  readonly batchTimeoutMs?: number;
  /** Where the device choice is logged. Default: silent. */
  readonly logger?: Logger;
  /** Why the caller chose `device`, logged in place of "requested" (an int8 model's `auto` is the CPU). */
  readonly deviceReason?: string;
}

type Output = Extract<InferenceThreadReply, { type: 'output' }>;

/**
 * The one owner of the ONNX Runtime session, created once, reused for every batch, disposed on
 * shutdown. The session lives on its own thread (see `inference-thread.ts`), so a running
 * batch never blocks downloads and decoding on the main thread. Checks that the model takes
 * `[N,3,224,224]` floats and gives `[N,1000]`, whatever its input and output are named.
 *
 * A session that can no longer work says so at once: when its thread exits, or a batch overruns
 * `batchTimeoutMs`, every pending and later run fails with the cause (`INFERENCE_THREAD_EXITED`,
 * `INFERENCE_TIMEOUT`) instead of waiting for a reply that will never come.
 */
export class InferenceSession {
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (output: Output) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
  >();
  private disposed = false;
  /** Why the session cannot run anything any more, once that is so. */
  private broken: ModelError | undefined;

  private constructor(
    private readonly thread: Thread,
    readonly model: ModelIdentity,
    readonly device: Device,
    readonly maxBatchSize: number,
    readonly inputName: string,
    readonly outputName: string,
    private readonly batchTimeoutMs: number,
  ) {
    thread.on('message', (message: InferenceThreadReply) => {
      if (message.type !== 'output' && message.type !== 'failed') return;
      const waiter = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!waiter || message.id === undefined) return;
      this.pending.delete(message.id);
      clearTimeout(waiter.timer);
      if (message.type === 'output') waiter.resolve(message);
      else waiter.reject(new ModelError(message.code as ModelErrorCode, message.message));
    });
    thread.on('error', (error) =>
      this.breakDown(
        new ModelError('INFERENCE_THREAD_EXITED', `the inference thread crashed: ${error.message}`, { cause: error }),
      ),
    );
    thread.on('exit', (exitCode) => {
      if (!this.disposed)
        this.breakDown(new ModelError('INFERENCE_THREAD_EXITED', `the inference thread exited (code ${exitCode})`));
    });
  }

  static async create(modelFile: ModelFile, options: InferenceSessionOptions = {}): Promise<InferenceSession> {
    const logger = options.logger ?? silentLogger;
    const maxBatchSize = options.maxBatchSize ?? 32;
    const threads = options.threads ?? availableParallelism();
    // Before the thread starts: ONNX Runtime reads the variable when it creates its first session.
    disableRuntimeTelemetry();
    const thread = new Thread(new URL('./inference-thread.js', import.meta.url));
    const opened = await request(
      thread,
      { type: 'open', modelPath: modelFile.path, device: options.device ?? 'auto', threads },
      'opened',
    );
    if (opened.type === 'failed') {
      await thread.terminate();
      if (opened.code === 'DEVICE_UNAVAILABLE') throw new ModelError('DEVICE_UNAVAILABLE', opened.message);
      throw invalidModel(modelFile, opened.message);
    }
    logger.info(
      {
        device: opened.device,
        reason: options.deviceReason ?? opened.reason,
        threads,
        model: modelFile.path,
        sha256: modelFile.identity.sha256,
      },
      'inference device chosen',
    );
    const [inputName] = opened.inputNames;
    const [outputName] = opened.outputNames;
    if (opened.inputNames.length !== 1 || opened.outputNames.length !== 1 || !inputName || !outputName) {
      await thread.terminate();
      throw invalidModel(
        modelFile,
        `it has ${opened.inputNames.length} inputs and ${opened.outputNames.length} outputs`,
      );
    }
    if (opened.inputType !== undefined && opened.inputType !== 'float32') {
      await thread.terminate();
      throw invalidModel(modelFile, `its input is ${opened.inputType}, not float32`);
    }
    const session = new InferenceSession(
      thread,
      modelFile.identity,
      opened.device,
      maxBatchSize,
      inputName,
      outputName,
      options.batchTimeoutMs ?? 60_000,
    );
    await session.checkSignature(modelFile);
    return session;
  }

  /**
   * Runs decoded 224×224 RGB images (see `decodeImage`) and returns their logits, `count × 1000`
   * floats. The inference thread normalises them into the batch, so the main thread neither
   * allocates nor copies float tensors.
   */
  async run(images: readonly Uint8Array[]): Promise<Float32Array> {
    if (images.length < 1 || images.length > this.maxBatchSize)
      throw new RangeError(`batch of ${images.length} images is outside 1..${this.maxBatchSize}`);
    return this.logitsOf(this.send(images), images.length);
  }

  /** Why the session cannot run any more, or undefined while it can. */
  get failure(): ModelError | undefined {
    return this.broken;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // A stuck or dead thread cannot answer `close`: it is only terminated (bounded, as a thread
    // blocked in native code ends only when the process does).
    if (!this.broken) await request(this.thread, { type: 'close' }, 'closed').catch(() => undefined);
    await Promise.race([this.thread.terminate(), delay(5_000, undefined, { ref: false })]);
  }

  /** The logits of a run, with any failure that is not already a ModelError reported as INFERENCE_FAILED. */
  private async logitsOf(run: Promise<Output>, count: number): Promise<Float32Array> {
    try {
      return (await run).data;
    } catch (error) {
      if (error instanceof ModelError) throw error;
      throw new ModelError('INFERENCE_FAILED', `inference on a batch of ${count} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  private send(images: readonly Uint8Array[]): Promise<Output> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.disposed)
      return Promise.reject(
        new PipelineError('SESSION_DISPOSED', 'the inference session is disposed', { retryable: true }),
      );
    const id = this.nextId++;
    return new Promise<Output>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.breakDown(
          new ModelError(
            'INFERENCE_TIMEOUT',
            `a batch of ${images.length} images has run for more than ${this.batchTimeoutMs} ms: the inference thread is stuck`,
          ),
        );
      }, this.batchTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.thread.postMessage({ type: 'run', id, images } satisfies InferenceThreadRequest);
    });
  }

  /** One black image must give `[1,1000]` floats; anything else is not an ImageNet classifier. */
  private async checkSignature(modelFile: ModelFile): Promise<void> {
    let output: Output;
    try {
      output = await this.send([new Uint8Array(MODEL_INPUT.cropSize * MODEL_INPUT.cropSize * MODEL_INPUT.channels)]);
    } catch (error) {
      await this.dispose();
      throw invalidModel(
        modelFile,
        `it does not accept a [N,3,224,224] float input (${(error as Error).message})`,
        error,
      );
    }
    if (
      output.dataType !== 'float32' ||
      output.dims.length !== 2 ||
      output.dims[0] !== 1 ||
      output.dims[1] !== CLASS_COUNT
    ) {
      await this.dispose();
      throw invalidModel(
        modelFile,
        `its output is ${output.dataType} [${output.dims.join(',')}] for one image, not float32 [1,${CLASS_COUNT}]`,
      );
    }
  }

  /** Marks the session unusable and fails every pending run with the cause (the first cause wins). */
  private breakDown(cause: ModelError): void {
    this.broken ??= cause;
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.reject(this.broken);
    }
    this.pending.clear();
  }
}

/** Sends one request and waits for the reply of the given type (or a failure). */
function request<T extends InferenceThreadReply['type']>(
  thread: Thread,
  message: InferenceThreadRequest,
  expected: T,
): Promise<Extract<InferenceThreadReply, { type: T }> | Extract<InferenceThreadReply, { type: 'failed' }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: InferenceThreadReply) => {
      if (reply.type !== expected && !(reply.type === 'failed' && reply.id === undefined)) return;
      cleanUp();
      resolve(reply as never);
    };
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    const cleanUp = () => {
      thread.off('message', onMessage);
      thread.off('error', onError);
    };
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.postMessage(message);
  });
}

function invalidModel(modelFile: ModelFile, why: string, cause?: unknown): ModelError {
  return new ModelError('MODEL_INVALID', `${modelFile.path} is not a usable AlexNet-style classifier: ${why}`, {
    cause,
    context: { path: modelFile.path },
  });
}
