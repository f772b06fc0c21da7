import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileSha256 } from '../../common/file-sha256.js';
import { projectRoot } from '../../common/paths.js';
import { ModelError } from '../errors.js';
import { describeImageExtensions, hasImageExtension } from '../image-formats.js';

/** The calibration images when none are named: the project's sample photos (they ship in the container too). */
export const DEFAULT_CALIBRATION_FOLDER = path.join(projectRoot, 'samples');

/** At most this many calibration images are read: min-max ranges settle long before. */
export const MAX_CALIBRATION_IMAGES = 1000;

/** A calibration set: its image files in name order, and their hash. */
export interface CalibrationSet {
  readonly folder: string;
  readonly files: readonly string[];
  /** SHA-256 over each file's SHA-256, in name order: what the quantized model records. */
  readonly sha256: string;
}

/**
 * The image files directly in `folder` (by ending, sorted, at most {@link MAX_CALIBRATION_IMAGES}),
 * hashed. A folder that cannot be read or holds no image is `CALIBRATION_EMPTY`.
 */
export async function readCalibrationSet(folder: string = DEFAULT_CALIBRATION_FOLDER): Promise<CalibrationSet> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new ModelError(
      'CALIBRATION_EMPTY',
      `cannot read the calibration folder ${folder}: ${(error as Error).message}`,
      {
        cause: error,
        context: { folder },
      },
    );
  }
  const files = entries
    .filter((entry) => entry.isFile() && hasImageExtension(entry.name))
    .map((entry) => entry.name)
    .sort()
    .slice(0, MAX_CALIBRATION_IMAGES)
    .map((name) => path.join(folder, name));
  if (files.length === 0)
    throw new ModelError(
      'CALIBRATION_EMPTY',
      `the calibration folder ${folder} holds no images (files ending in ${describeImageExtensions()})`,
      { context: { folder } },
    );
  const hash = createHash('sha256');
  for (const file of files) hash.update(await fileSha256(file));
  return { folder, files, sha256: hash.digest('hex') };
}
