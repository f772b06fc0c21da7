import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheDirectory } from '../../common/paths.js';
import { heNormalParameters } from '../../model/build-alexnet-onnx.js';
import { alexNetParameterShapes } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { DEFAULT_DEV_MODEL_SEED } from '../../model/index.js';
import { legacyCheckpoint, type TensorToWrite } from './legacy-checkpoint-writer.js';

/**
 * A legacy-format checkpoint of torchvision's AlexNet holding the dev model's weights (the same
 * values the dev builder draws for the seed): 244 MB, like the real one. `change` alters the tensor
 * list (a wrong shape, a missing key).
 */
export function alexNetCheckpoint(
  change: (tensors: TensorToWrite[]) => TensorToWrite[] = (tensors) => tensors,
  seed = DEFAULT_DEV_MODEL_SEED,
): Buffer {
  const source = heNormalParameters(seed);
  const tensors = [...alexNetParameterShapes()].map(([name, shape]) => ({ name, shape, values: source(name, shape) }));
  return legacyCheckpoint(change(tensors));
}

/** The code that makes the checkpoint: a cached file made by other code is not used. */
function generatorVersion(): string {
  const hash = createHash('sha256');
  for (const module of ['../../model/build-alexnet-onnx.js', './legacy-checkpoint-writer.js'])
    hash.update(readFileSync(new URL(module, import.meta.url)));
  return hash.digest('hex').slice(0, 12);
}

/**
 * The dev weights' checkpoint ({@link alexNetCheckpoint} unchanged) as a file, made once and
 * kept in the project's cache (`.cache/test-checkpoints/`): drawing 61 M values and writing them
 * costs ~4 s of CPU, which four test files would otherwise pay in each pass. Written under a
 * temporary name and renamed, so concurrent test files never read half of it. Read-only to callers.
 */
export async function devCheckpointFile(): Promise<string> {
  const folder = path.join(cacheDirectory, 'test-checkpoints');
  const file = path.join(folder, `alexnet-dev-seed-${DEFAULT_DEV_MODEL_SEED}-${generatorVersion()}.pth`);
  if (existsSync(file)) return file;
  await mkdir(folder, { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, alexNetCheckpoint());
  await rename(temporary, file);
  return file;
}
