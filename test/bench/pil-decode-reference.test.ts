import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../common/paths.js';
import { decodeImage } from '../../model/index.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const PYTHON = '/usr/bin/python3';
const hasPil = spawnSync(PYTHON, ['-c', 'import PIL'], { encoding: 'utf8' }).status === 0;
if (!hasPil) console.log(`# skipping the PIL decode reference's check: no PIL in ${PYTHON} (apt install python3-pil)`);

/**
 * `npm run bench` compares our decode's CPU per image with PIL's doing the same work
 * (bench/pil-decode-reference.py): that comparison means something only if PIL's output is ours —
 * the same upright 224×224 RGB, up to what different decoders' shrink-on-load and rounding change.
 */
describe('the PIL decode reference of the benchmark', { skip: hasPil ? false : 'no PIL' }, () => {
  it('makes what decodeImage makes of the same files (JPEG, EXIF-rotated JPEG, PNG)', async () => {
    const names = ['chelsea.jpg', 'chelsea-exif-rotated.jpg', 'astronaut.jpg', 'coffee-portrait.png'];
    const files = names.map((name) => path.join(projectRoot, 'samples', name));
    const output = temporaryFolder('alexnet-pil-reference-');
    const run = spawnSync(PYTHON, [path.join(projectRoot, 'bench', 'pil-decode-reference.py'), ...files], {
      encoding: 'utf8',
      env: { ...process.env, PIL_REFERENCE_OUTPUT: output },
    });
    assert.equal(run.status, 0, run.stderr);
    const figures = JSON.parse(run.stdout.trim()) as { images: number; cpuMsPerImage: number };
    assert.equal(figures.images, names.length);
    assert.ok(figures.cpuMsPerImage > 0);
    for (const [index, name] of names.entries()) {
      const ours = (await decodeImage(readFileSync(files[index]!))).rgb;
      const pil = readFileSync(path.join(output, `${name}.rgb`));
      assert.equal(pil.length, ours.length, `${name}: 224×224 RGB`);
      let total = 0;
      for (let i = 0; i < pil.length; i++) total += Math.abs(pil[i]! - ours[i]!);
      const meanDifference = total / pil.length;
      assert.ok(meanDifference < 4.5, `${name}: mean difference ${meanDifference.toFixed(2)} of 255`);
    }
  });
});
