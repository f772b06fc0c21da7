import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { describeError } from '../../common/errors.js';
import { fileSha256 } from '../../common/file-sha256.js';
import { projectRoot } from '../../common/paths.js';
import { ModelError } from '../errors.js';
import { describeImageExtensions, hasImageExtension } from '../image-formats.js';
import { checkFileSize } from '../image-limits.js';
import { DEFAULT_PREPROCESS_OPTIONS } from '../preprocess.js';

/** The calibration images when none are named: the project's sample photos (they ship in the container too). */
export const DEFAULT_CALIBRATION_FOLDER = path.join(projectRoot, 'samples');

/** At most this many calibration images are read: min-max ranges settle long before. */
export const MAX_CALIBRATION_IMAGES = 1000;

/** A calibration set: its image files in name order, and their hash. */
export interface CalibrationSet {
  readonly folder: string;
  /** The files that could be read, within the image size limit. */
  readonly files: readonly string[];
  /** SHA-256 over each of `files`' SHA-256, in name order: what the quantized model records. */
  readonly sha256: string;
  /** Image files left out, and why: unreadable, or larger than an image may be (not read). */
  readonly skipped: readonly { readonly file: string; readonly reason: string }[];
}

/**
 * The image files directly in `folder` (by ending, sorted, at most {@link MAX_CALIBRATION_IMAGES}),
 * hashed; a file larger than an image may be is left out unread, an unreadable one is left out. A
 * folder that cannot be read, holds no image, or none that can be read is `CALIBRATION_EMPTY`.
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
  const candidates = entries
    .filter((entry) => entry.isFile() && hasImageExtension(entry.name))
    .map((entry) => entry.name)
    .sort()
    .slice(0, MAX_CALIBRATION_IMAGES)
    .map((name) => path.join(folder, name));
  if (candidates.length === 0)
    throw new ModelError(
      'CALIBRATION_EMPTY',
      `the calibration folder ${folder} holds no images (files ending in ${describeImageExtensions()})`,
      { context: { folder } },
    );
  const hash = createHash('sha256');
  const readable: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const file of candidates) {
    try {
      checkFileSize((await stat(file)).size, DEFAULT_PREPROCESS_OPTIONS.maxBytes);
      hash.update(await fileSha256(file));
      readable.push(file);
    } catch (error) {
      skipped.push({ file, reason: describeError(error).message });
    }
  }
  if (readable.length === 0)
    throw new ModelError(
      'CALIBRATION_EMPTY',
      `none of the ${candidates.length} calibration images in ${folder} could be read (${skipped[0]!.reason})`,
      { context: { folder } },
    );
  return { folder, files: readable, sha256: hash.digest('hex'), skipped };
}
