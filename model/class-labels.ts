import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../common/paths.js';
import { CLASS_COUNT } from './constants.js';
import { ModelError } from './errors.js';

/** ImageNet's domestic cat classes: tabby, tiger cat, Persian, Siamese and Egyptian cat (torchvision's indices). */
export const DOMESTIC_CAT_CLASS_INDICES: readonly number[] = [281, 282, 283, 284, 285];

/** True when a class index is a domestic cat: what pretrained weights must call the sample cat. */
export function isDomesticCat(classIndex: number): boolean {
  return DOMESTIC_CAT_CLASS_INDICES.includes(classIndex);
}

/** The ImageNet class names file shipped with the model, one name a line in index order. */
export const CLASS_NAMES_FILE = path.join(projectRoot, 'model', 'imagenet-classes.txt');

let cached: readonly string[] | undefined;

/** The 1000 ImageNet class names in torchvision's index order (read once). */
export function imagenetClassNames(): readonly string[] {
  if (cached) return cached;
  const names = readFileSync(CLASS_NAMES_FILE, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== CLASS_COUNT) {
    throw new ModelError(
      'MODEL_INVALID',
      `${CLASS_NAMES_FILE} holds ${names.length} class names; expected ${CLASS_COUNT}`,
    );
  }
  cached = Object.freeze(names);
  return cached;
}
