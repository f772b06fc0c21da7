import { fileSha256 } from '../../common/file-sha256.js';
import { ALEXNET_LAYERS } from '../alexnet-architecture.js';
import { buildAlexNetOnnx, writeOnnxAtomically } from '../build-alexnet-onnx.js';
import { CheckpointError } from './checkpoint-errors.js';
import { OFFICIAL_ALEXNET_CHECKPOINT } from './official-weights.js';
import { openTorchCheckpoint, type CheckpointFormat } from './torch-checkpoint.js';
import { tensorValues, toFloat32, type StorageReference } from './torch-tensors.js';

/** Options of {@link convertAlexNetCheckpoint}. */
export interface ConvertOptions {
  /** Where the ONNX model goes (written atomically; nothing is written on any error). */
  readonly out: string;
  /** Mark the weights pretrained although the checkpoint is not the official file. Default: false. */
  readonly pretrained?: boolean;
}

/** What a conversion wrote. */
export interface ConversionReport {
  readonly out: string;
  readonly format: CheckpointFormat;
  readonly checkpointSha256: string;
  readonly weights: string;
  readonly pretrained: boolean;
  readonly parameters: number;
}

/** torchvision's AlexNet state_dict: every parameter's name and shape, in order. */
export function alexNetParameterShapes(): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const layer of ALEXNET_LAYERS) {
    if (layer.kind === 'conv') {
      shapes.set(`${layer.name}.weight`, [layer.outChannels, layer.inChannels, layer.kernel, layer.kernel]);
      shapes.set(`${layer.name}.bias`, [layer.outChannels]);
    } else if (layer.kind === 'linear') {
      shapes.set(`${layer.name}.weight`, [layer.outFeatures, layer.inFeatures]);
      shapes.set(`${layer.name}.bias`, [layer.outFeatures]);
    }
  }
  return shapes;
}

/**
 * Converts a checkpoint of torchvision's AlexNet into the pipeline's ONNX model, with the graph
 * the dev model uses. Storages are read one at a time and each becomes its parameters at once
 * (a view where the tensor is contiguous float32), so memory holds the weights about twice: the
 * parameters and the encoded model. Only the official IMAGENET1K_V1 file (by its full SHA-256) is
 * marked pretrained, unless `pretrained` says otherwise.
 */
export async function convertAlexNetCheckpoint(
  checkpointFile: string,
  options: ConvertOptions,
): Promise<ConversionReport> {
  const checkpointSha256 = await sha256OfFile(checkpointFile);
  const checkpoint = await openTorchCheckpoint(checkpointFile);
  try {
    const shapes = alexNetParameterShapes();
    const tensors = new Map([...checkpoint.tensors].map(([key, record]) => [key.replace(/^module\./, ''), record]));
    const missing = [...shapes.keys()].filter((key) => !tensors.has(key));
    const unexpected = [...tensors.keys()].filter((key) => !shapes.has(key));
    if (missing.length > 0 || unexpected.length > 0) {
      const parts = [
        missing.length ? `missing ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}` : '',
        unexpected.length ? `unexpected ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', …' : ''}` : '',
      ];
      throw new CheckpointError(
        'CHECKPOINT_NOT_ALEXNET',
        `the checkpoint is not torchvision's AlexNet: ${parts.filter(Boolean).join('; ')}`,
      );
    }
    for (const [key, shape] of shapes) {
      const got = tensors.get(key)!.shape;
      if (got.length !== shape.length || got.some((size, axis) => size !== shape[axis])) {
        throw new CheckpointError(
          'CHECKPOINT_NOT_ALEXNET',
          `the checkpoint is not torchvision's AlexNet: ${key} is [${got.join(', ')}], expected [${shape.join(', ')}]`,
        );
      }
    }

    // Each storage once, however many tensors share it.
    const parameters = new Map<string, Float32Array>();
    const byStorage = new Map<string, { storage: StorageReference; keys: string[] }>();
    for (const key of shapes.keys()) {
      const storage = tensors.get(key)!.storage;
      const group = byStorage.get(storage.key) ?? { storage, keys: [] };
      group.keys.push(key);
      byStorage.set(storage.key, group);
    }
    for (const { storage, keys } of byStorage.values()) {
      const bytes = await checkpoint.readStorage(storage);
      for (const key of keys) parameters.set(key, toFloat32(key, tensorValues(key, tensors.get(key)!, bytes)));
    }

    const official = checkpointSha256 === OFFICIAL_ALEXNET_CHECKPOINT.sha256;
    const weights = official ? OFFICIAL_ALEXNET_CHECKPOINT.weights : `pth:${checkpointSha256.slice(0, 16)}`;
    const pretrained = official || options.pretrained === true;
    const model = buildAlexNetOnnx((name) => parameters.get(name)!, {
      weights,
      pretrained,
      docString: `torchvision AlexNet converted by alexnet-pipeline from a PyTorch checkpoint (sha256 ${checkpointSha256})`,
    });
    parameters.clear();
    await writeOnnxAtomically(options.out, model);
    return {
      out: options.out,
      format: checkpoint.format,
      checkpointSha256,
      weights,
      pretrained,
      parameters: shapes.size,
    };
  } finally {
    await checkpoint.close();
  }
}

/** SHA-256 of a checkpoint, streamed; a file that cannot be read is `CHECKPOINT_UNREADABLE`. */
async function sha256OfFile(file: string): Promise<string> {
  try {
    return await fileSha256(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
