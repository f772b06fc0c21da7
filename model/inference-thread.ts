import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import type { Device, DeviceChoice } from './devices.js';
import { ModelError } from './errors.js';
import type { InferenceThreadReply, InferenceThreadRequest } from './inference-thread-protocol.js';
import { BatchInputBuffers, type PackedBatch } from './normalize.js';
import { hangForever, INFERENCE_FAULT_VARIABLE, readInferenceFaults } from './inference-faults.js';

/**
 * The inference thread: owns the ONNX Runtime session. onnxruntime-node runs a model synchronously
 * on the calling thread, so running it here keeps the main thread free to download, decode and
 * answer the queue while a batch runs on the CPU or the GPU.
 */
let session: ort.InferenceSession | undefined;
const port = parentPort!;
const faults = readInferenceFaults(process.env[INFERENCE_FAULT_VARIABLE]);
let batchesRun = 0;
const batchInputs = new BatchInputBuffers();
const reply = (message: InferenceThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (request: InferenceThreadRequest) => {
  void handle(request);
});

async function handle(request: InferenceThreadRequest): Promise<void> {
  if (request.type === 'open') {
    try {
      const opened = await openOnDevice(request.modelPath, request.device, request.threads);
      session = opened.session;
      const [input] = session.inputMetadata;
      reply({
        type: 'opened',
        device: opened.device,
        reason: opened.reason,
        inputNames: session.inputNames,
        outputNames: session.outputNames,
        inputType: input?.isTensor ? input.type : undefined,
      });
    } catch (error) {
      const failure = error as { code?: string; message: string };
      reply({
        type: 'failed',
        code: failure.code ?? 'MODEL_INVALID',
        message: failure.message.split('\n')[0] ?? 'ONNX Runtime cannot load the model',
      });
    }
  } else if (request.type === 'run') {
    batchesRun++;
    if (faults.exitOnBatch === batchesRun) process.exit(70);
    if (faults.hangOnBatch === batchesRun) hangForever();
    let batch: PackedBatch | undefined;
    try {
      batch = batchInputs.pack(request.images);
      const feeds = { [session!.inputNames[0]!]: new ort.Tensor('float32', batch.input, batch.dims) };
      const outputs = await session!.run(feeds);
      const output = outputs[session!.outputNames[0]!] as ort.Tensor;
      const data = output.data as Float32Array;
      reply({ type: 'output', id: request.id, data, dims: output.dims, dataType: output.type }, [
        data.buffer as ArrayBuffer,
      ]);
    } catch (error) {
      reply({
        type: 'failed',
        id: request.id,
        code: 'INFERENCE_FAILED',
        message: (error as Error).message.split('\n')[0] ?? 'inference failed',
      });
    } finally {
      batch?.release();
    }
  } else {
    await session?.release();
    session = undefined;
    reply({ type: 'closed' });
    port.close();
  }
}

async function openOnDevice(
  modelPath: string,
  choice: DeviceChoice,
  threads: number,
): Promise<{ session: ort.InferenceSession; device: Device; reason: string }> {
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Idle inference threads must not spin: decoding shares the cores between batches.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
  if (choice !== 'cpu' && !cudaProviderInstalled()) {
    const reason = `the CUDA provider is not installed; ${CUDA_FIX}`;
    if (choice === 'cuda')
      throw new ModelError('DEVICE_UNAVAILABLE', `--device cuda: ${reason}, or use --device auto or cpu`);
    return { session: await openOnCpu(modelPath, options), device: 'cpu', reason };
  }
  if (choice !== 'cpu') {
    try {
      // Fatal-only logging for the attempt: a failed CUDA load is reported through our error or log line.
      const session = await ort.InferenceSession.create(modelPath, {
        ...options,
        logSeverityLevel: 4,
        executionProviders: ['cuda'],
      });
      return { session, device: 'cuda', reason: choice === 'cuda' ? 'requested' : 'the CUDA provider loaded' };
    } catch (error) {
      const detail = (error as Error).message.split('\n')[0] ?? '';
      if (choice === 'cuda') {
        throw new ModelError(
          'DEVICE_UNAVAILABLE',
          `--device cuda: the CUDA provider is installed but cannot run here (${detail}); it needs an NVIDIA GPU with a driver of the 580 series or later and CUDA 13 with cuDNN 9, or use --device auto or cpu`,
        );
      }
      return {
        session: await openOnCpu(modelPath, options),
        device: 'cpu',
        reason: `the CUDA provider is unavailable (${detail})`,
      };
    }
  }
  return { session: await openOnCpu(modelPath, options), device: 'cpu', reason: 'requested' };
}

function openOnCpu(modelPath: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, { ...options, executionProviders: ['cpu'] });
}

/** How to get the CUDA provider, for messages. */
const CUDA_FIX =
  'install it on a machine with an NVIDIA GPU (driver 580+, CUDA 13, cuDNN 9) with `ONNXRUNTIME_NODE_INSTALL=true node node_modules/onnxruntime-node/script/install.js`';

/**
 * onnxruntime-node ships the CPU provider; the CUDA provider library is added by its install script
 * only when asked. Looking for the file first keeps `auto` on a CPU machine quiet (the native
 * loader otherwise prints an error before the fallback).
 */
function cudaProviderInstalled(): boolean {
  const packageMain = createRequire(import.meta.url).resolve('onnxruntime-node');
  const binaries = path.join(path.dirname(packageMain), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(path.join(binaries, 'libonnxruntime_providers_cuda.so'));
}
