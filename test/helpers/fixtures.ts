import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';

/** The fixtures the tests read, all inside the repository (`test/fixtures/README.md` says what each is). */
export const fixturesDirectory = path.join(projectRoot, 'test', 'fixtures');
/** The photographs: the project's sample images, one copy for `npm start` and the tests. */
export const fixtureImagesDirectory = path.join(projectRoot, 'samples');
export const referenceDirectory = path.join(fixturesDirectory, 'reference');
/** Small checkpoints written by real `torch.save`, and `small.json` describing their tensors. */
export const checkpointFixturesDirectory = path.join(fixturesDirectory, 'pth');

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

/** An S3 event notification body exactly as AWS delivers it (`test/fixtures/aws/<name>`). */
export function readAwsEventFixture(name: string): string {
  return readFileSync(path.join(fixturesDirectory, 'aws', name), 'utf8');
}
