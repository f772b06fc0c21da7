import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileExists } from '../../common/file-exists.js';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { cacheDirectory as defaultCacheDirectory } from '../../common/paths.js';
import { ModelError } from '../errors.js';
import { readModelFile } from '../model-file.js';
import { readCalibrationSet } from './calibration-set.js';
import { QUANTIZATION_METHOD, quantizeAlexNet } from './quantize-alexnet.js';

/** Options of {@link ensureInt8Model}. */
export interface Int8ModelOptions {
  /** Where quantized models are cached. Default: `.cache/` in the project (or `$ALEXNET_CACHE_DIR`). */
  readonly cacheDirectory?: string;
  /** The calibration images. Default: the project's `samples/`. */
  readonly calibrationFolder?: string;
  readonly logger?: Logger;
}

/**
 * The int8 model of an fp32 one for `--precision int8`: quantized once (`quantizeAlexNet`, ~10 s)
 * and cached under a name made of the source's SHA-256, the calibration set's hash and the method,
 * so that a new model, new calibration images or a new quantizer makes a new file and nothing stale
 * is ever used. A model that is int8 already is refused: it would be quantized twice.
 */
export async function ensureInt8Model(fp32Path: string, options: Int8ModelOptions = {}): Promise<string> {
  const logger = options.logger ?? silentLogger;
  const source = (await readModelFile(fp32Path)).identity;
  if (source.precision === 'int8')
    throw new ModelError(
      'MODEL_ALREADY_QUANTIZED',
      `--precision int8: ${fp32Path} is an int8 model already; run it without --precision int8 (PRECISION=int8)`,
      { context: { path: fp32Path } },
    );
  const calibration = await readCalibrationSet(options.calibrationFolder);
  const key = createHash('sha256')
    .update(`${source.sha256}\n${calibration.sha256}\n${QUANTIZATION_METHOD}`)
    .digest('hex')
    .slice(0, 16);
  const int8Path = path.join(options.cacheDirectory ?? defaultCacheDirectory, 'int8', `alexnet-int8-${key}.onnx`);
  if (await fileExists(int8Path)) return int8Path;
  logger.info(
    { from: fp32Path, to: int8Path, calibrationImages: calibration.files.length },
    'quantizing the model to int8 (once; cached)',
  );
  await quantizeAlexNet({ modelPath: fp32Path, outPath: int8Path, calibration, source, logger });
  return int8Path;
}
