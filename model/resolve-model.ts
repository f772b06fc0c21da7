import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { cacheDirectory, projectRoot } from '../common/paths.js';
import { DEFAULT_DEV_MODEL_SEED } from './constants.js';
import { ModelError } from './errors.js';

/** Where the pretrained model lands: `alexnet-pipeline model fetch` (or `model convert`) writes it, and so does the container build. */
export const DEFAULT_MODEL_FILE = path.join(projectRoot, 'model', 'alexnet.onnx');

/** How a model path was found. */
export type ModelSource = 'explicit' | 'default' | 'dev';

/** Options of {@link resolveModelPath}. */
export interface ResolveModelOptions {
  /** A model the user named (`--model` / `MODEL_PATH`). Default: none. */
  readonly modelPath?: string;
  /** The project's default model file. Default: {@link DEFAULT_MODEL_FILE}. */
  readonly defaultModelFile?: string;
  /** Seed of the dev model. Default: {@link DEFAULT_DEV_MODEL_SEED}. */
  readonly devSeed?: number;
  /** Folder of the cached dev model. Default: `.cache/` in the project (or `$ALEXNET_CACHE_DIR`). */
  readonly cacheDirectory?: string;
  readonly logger?: Logger;
}

/** The cached dev model's file for a seed. */
export function devModelFile(seed: number, directory: string = cacheDirectory): string {
  return path.join(directory, `alexnet-dev-seed-${seed}.onnx`);
}

/**
 * Model resolution: an explicit path (which must exist) → the project's default model file → the
 * dev model (built once and cached), with a one-line warning that its weights are untrained.
 */
export async function resolveModelPath(
  options: ResolveModelOptions = {},
): Promise<{ path: string; source: ModelSource }> {
  const logger = options.logger ?? silentLogger;
  if (options.modelPath) {
    if (!(await exists(options.modelPath))) {
      throw new ModelError('MODEL_NOT_FOUND', `model file ${options.modelPath} does not exist`, {
        context: { path: options.modelPath },
      });
    }
    return { path: options.modelPath, source: 'explicit' };
  }
  const defaultFile = options.defaultModelFile ?? DEFAULT_MODEL_FILE;
  if (await exists(defaultFile)) return { path: defaultFile, source: 'default' };

  const seed = options.devSeed ?? DEFAULT_DEV_MODEL_SEED;
  const devFile = devModelFile(seed, options.cacheDirectory ?? cacheDirectory);
  if (!(await exists(devFile))) {
    logger.info({ path: devFile, seed }, 'building the dev model (AlexNet graph with seeded He-initialised weights)');
    const { writeDevAlexNetOnnx } = await import('./build-alexnet-onnx.js');
    await writeDevAlexNetOnnx(devFile, { seed });
  }
  logger.warn(
    { path: devFile, seed },
    'using the dev model: its weights are UNTRAINED, so labels are not real predictions',
  );
  return { path: devFile, source: 'dev' };
}

async function exists(filePath: string): Promise<boolean> {
  try {
    await access(filePath);
    return true;
  } catch {
    return false;
  }
}
