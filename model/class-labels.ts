import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../common/paths.js';
import { CLASS_COUNT } from './constants.js';

/** The ImageNet class names file shipped with the model, one name a line in index order. */
export const CLASS_NAMES_FILE = path.join(projectRoot, 'model', 'imagenet-classes.txt');

let cached: readonly string[] | undefined;

/** The 1000 ImageNet class names in torchvision's index order (read once). */
export function imagenetClassNames(): readonly string[] {
  if (cached) return cached;
  const names = readFileSync(CLASS_NAMES_FILE, 'utf8').split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  if (names.length !== CLASS_COUNT) {
    throw new Error(`${CLASS_NAMES_FILE} holds ${names.length} class names; expected ${CLASS_COUNT}`);
  }
  cached = Object.freeze(names);
  return cached;
}
