import path from 'node:path';
import { fileExists as exists } from '../common/file-exists.js';
import type { Logger } from '../common/logger.js';
import { silentLogger } from '../common/logger.js';
import { cacheDirectory, projectRoot } from '../common/paths.js';
import { DEFAULT_DEV_MODEL_SEED } from './constants.js';
import { ModelError } from './errors.js';
import type { DownloadProgressFactory } from './pretrained/download-verified.js';
import { cachedModelFile, firstUseSettings, type FirstUseSettings } from './pretrained/weights-source.js';

/** A model converted in the project (`model fetch --out model/alexnet.onnx`, or `model convert`); the container build writes it. */
export const DEFAULT_MODEL_FILE = path.join(projectRoot, 'model', 'alexnet.onnx');

/**
 * How a model path was found: named by the user; the project's converted model; the per-user
 * cache (found, or fetched by this run); or the untrained dev model.
 */
export type ModelSource = 'explicit' | 'default' | 'cached' | 'fetched' | 'dev';

/** Options of {@link resolveModelPath}. */
export interface ResolveModelOptions {
  /** A model the user named (`--model` / `MODEL_PATH`). Default: none. */
  readonly modelPath?: string;
  /** The project's converted model. Default: {@link DEFAULT_MODEL_FILE}. */
  readonly defaultModelFile?: string;
  /** Seed of the dev model. Default: {@link DEFAULT_DEV_MODEL_SEED}. */
  readonly devSeed?: number;
  /** Folder of the cached dev model. Default: `.cache/` in the project (or `$ALEXNET_CACHE_DIR`). */
  readonly cacheDirectory?: string;
  /** Never download the pretrained weights (`--offline`); `ALEXNET_OFFLINE=1` does the same. */
  readonly offline?: boolean;
  /** The per-user cache and the weights' source. Default: from the environment ({@link firstUseSettings}). */
  readonly firstUse?: FirstUseSettings;
  /** The download's progress display (a bar on a terminal). Default: none — log lines only. */
  readonly downloadProgress?: DownloadProgressFactory;
  readonly logger?: Logger;
}

/** The cached dev model's file for a seed. */
export function devModelFile(seed: number, directory: string = cacheDirectory): string {
  return path.join(directory, `alexnet-dev-seed-${seed}.onnx`);
}

/** Which model a run would use, found without building or downloading anything. */
export interface ModelPlan {
  readonly source: ModelSource | 'to-fetch';
  readonly path: string;
  /** False for a dev model not built yet, and for weights still to be fetched. */
  readonly exists: boolean;
  /** The per-user cache and the weights' source (not read when an explicit or project model decides). */
  readonly firstUse?: FirstUseSettings;
}

/**
 * Model resolution, in order: an explicit path (which must exist) → the project's converted model
 * → the per-user cache → (online) the pretrained weights fetched into that cache → the dev model.
 */
export async function planModel(options: ResolveModelOptions = {}): Promise<ModelPlan> {
  if (options.modelPath) {
    if (!(await exists(options.modelPath))) {
      throw new ModelError('MODEL_NOT_FOUND', `model file ${options.modelPath} does not exist`, {
        context: { path: options.modelPath },
      });
    }
    return { source: 'explicit', path: options.modelPath, exists: true };
  }
  const defaultFile = options.defaultModelFile ?? DEFAULT_MODEL_FILE;
  if (await exists(defaultFile)) return { source: 'default', path: defaultFile, exists: true };
  const firstUse = options.firstUse ?? firstUseSettings({ offline: options.offline });
  const cached = cachedModelFile(firstUse.cacheDirectory, firstUse.source);
  if (await exists(cached)) return { source: 'cached', path: cached, exists: true, firstUse };
  if (!firstUse.offline) return { source: 'to-fetch', path: cached, exists: false, firstUse };
  const devFile = devModelFile(options.devSeed ?? DEFAULT_DEV_MODEL_SEED, options.cacheDirectory ?? cacheDirectory);
  return { source: 'dev', path: devFile, exists: await exists(devFile), firstUse };
}

/**
 * The model a run uses ({@link planModel}'s order). On first use the pretrained weights are fetched
 * into the per-user cache; when that cannot be done (offline, no network, a stall past the stated
 * timeouts) the run goes on with the dev model — built once and cached — and says once why, and
 * how to get real labels. A later run tries again.
 */
export async function resolveModelPath(
  options: ResolveModelOptions = {},
): Promise<{ path: string; source: ModelSource }> {
  const logger = options.logger ?? silentLogger;
  const plan = await planModel(options);
  if (plan.source !== 'to-fetch' && plan.source !== 'dev') return { path: plan.path, source: plan.source };
  let why = 'offline (ALEXNET_OFFLINE or --offline): the pretrained weights were not fetched';
  if (plan.source === 'to-fetch') {
    // Loaded only here: the worker's usual start (a model in the image) never carries the converter.
    const { firstUseModel } = await import('./pretrained/first-use-fetch.js');
    const outcome = await firstUseModel(plan.firstUse!, { logger, progress: options.downloadProgress });
    if (outcome.kind !== 'unavailable') return { path: outcome.path, source: outcome.kind };
    why = `the pretrained weights could not be fetched (${outcome.reason}); a later run tries again`;
  }
  const devFile = await ensureDevModel(options);
  logger.warn(
    { path: devFile, seed: options.devSeed ?? DEFAULT_DEV_MODEL_SEED, why },
    `using the dev model: its weights are UNTRAINED, so labels are not real predictions — ${why}. \`alexnet-pipeline model fetch\` gets the real weights`,
  );
  return { path: devFile, source: 'dev' };
}

/** The dev model's file, built (and cached) if it is not there: what tests and benchmarks that want exactly it use. */
export async function ensureDevModel(
  options: Pick<ResolveModelOptions, 'devSeed' | 'cacheDirectory' | 'logger'> = {},
): Promise<string> {
  const seed = options.devSeed ?? DEFAULT_DEV_MODEL_SEED;
  const devFile = devModelFile(seed, options.cacheDirectory ?? cacheDirectory);
  if (!(await exists(devFile))) {
    (options.logger ?? silentLogger).info(
      { path: devFile, seed },
      'building the dev model (AlexNet graph with seeded He-initialised weights)',
    );
    const { writeDevAlexNetOnnx } = await import('./build-alexnet-onnx.js');
    await writeDevAlexNetOnnx(devFile, { seed });
  }
  return devFile;
}
