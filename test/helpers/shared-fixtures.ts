import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';

/** `../shared` beside the project: fixtures read by tests only (the product never reads it). */
export const sharedDirectory = path.resolve(projectRoot, '..', 'shared');
export const fixtureImagesDirectory = path.join(sharedDirectory, 'fixtures', 'images');
export const referenceDirectory = path.join(sharedDirectory, 'fixtures', 'reference');

/** Names of the fixture photographs, sorted. */
export function fixtureImageNames(): string[] {
  return readdirSync(fixtureImagesDirectory).sort();
}

export function readFixtureImage(name: string): Buffer {
  return readFileSync(path.join(fixtureImagesDirectory, name));
}

/** torchvision's preprocessing output for a fixture: float32 [3,224,224]. */
export function readReferenceTensor(name: string): Float32Array {
  const bytes = readFileSync(path.join(referenceDirectory, `${name}.f32`));
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

export function meanAbsoluteDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} and ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** An S3 event notification body exactly as AWS delivers it (`../shared/fixtures/aws/<name>`). */
export function readAwsEventFixture(name: string): string {
  return readFileSync(path.join(sharedDirectory, 'fixtures', 'aws', name), 'utf8');
}
