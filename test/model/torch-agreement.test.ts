import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../common/paths.js';
import { convertAlexNetCheckpoint } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { decodeImage, InferenceSession, packBatch, readModelFile } from '../../model/index.js';
import { loadDevModelFile } from '../helpers/dev-model.js';
import { findPythonWithTorch } from '../helpers/python-torch.js';
import { fixtureImageNames, readFixtureImage } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const torch = findPythonWithTorch();
const skip = torch.python ? false : `skipped: ${torch.reason}`;

function runPython(args: string[]): void {
  const run = spawnSync(torch.python!, args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `${args[0]} failed: ${run.stderr}`);
}

describe('agreement with PyTorch', { skip }, () => {
  it('the dev graph computes what torchvision’s AlexNet computes with the same weights', async () => {
    const folder = temporaryFolder('alexnet-torch-');
    const names = fixtureImageNames();
    // The production path: decoded images, normalised into the batch as the inference thread does.
    const images = await Promise.all(names.map(async (name) => (await decodeImage(readFixtureImage(name))).rgb));
    const batch = packBatch(images).input;
    await writeFile(path.join(folder, 'input.f32'), new Uint8Array(batch.buffer));
    const model = await loadDevModelFile();
    runPython([
      path.join(projectRoot, 'test', 'model', 'torch_reference_logits.py'),
      model.path,
      path.join(folder, 'input.f32'),
      path.join(folder, 'torch.f32'),
    ]);
    const torchLogits = new Float32Array(new Uint8Array(await readFile(path.join(folder, 'torch.f32'))).buffer);

    const session = await InferenceSession.create(model, { device: 'cpu', maxBatchSize: names.length });
    const ortLogits = await session.run(images);
    await session.dispose();

    assert.equal(ortLogits.length, torchLogits.length);
    let maxDifference = 0;
    let maxMagnitude = 0;
    for (let i = 0; i < ortLogits.length; i++) {
      maxDifference = Math.max(maxDifference, Math.abs(ortLogits[i]! - torchLogits[i]!));
      maxMagnitude = Math.max(maxMagnitude, Math.abs(torchLogits[i]!));
    }
    assert.ok(maxMagnitude > 0.1, 'logits must not be trivially zero');
    assert.ok(
      maxDifference <= 1e-3 * Math.max(1, maxMagnitude),
      `max |ORT − torch| = ${maxDifference} (max |logit| ${maxMagnitude})`,
    );
  });

  const checkpointKinds = [
    ['zip', 'float'],
    ['legacy', 'float'],
    ['zip', 'half'],
  ] as const;
  // The three checkpoints are written by one Python run (torch imported, the model read, once),
  // and the dev model's logits computed once: the first case that needs them makes them.
  const folder = temporaryFolder('alexnet-torch-save-');
  const checkpointFor = (layout: string, precision: string) => path.join(folder, `alexnet-${layout}-${precision}.pth`);
  let checkpoints: Promise<void> | undefined;
  const savedCheckpoints = () =>
    (checkpoints ??= loadDevModelFile().then((dev) =>
      runPython([
        path.join(projectRoot, 'test', 'model', 'save_state_dict.py'),
        dev.path,
        ...checkpointKinds.map(([layout, precision]) => `${checkpointFor(layout, precision)}:${layout}:${precision}`),
      ]),
    ));
  let devLogits: Promise<Float32Array> | undefined;
  for (const [layout, precision] of checkpointKinds) {
    it(`a ${layout}-format ${precision} checkpoint saved by PyTorch converts to a model with the dev model's logits`, async () => {
      await savedCheckpoints();
      const checkpoint = checkpointFor(layout, precision);
      const out = path.join(folder, `converted-${layout}-${precision}.onnx`);
      const report = await convertAlexNetCheckpoint(checkpoint, { out });
      assert.equal(report.format, layout);
      const images = await Promise.all(
        fixtureImageNames().map(async (name) => (await decodeImage(readFixtureImage(name))).rgb),
      );
      const logitsOf = async (model: string) => {
        const session = await InferenceSession.create(await readModelFile(model), {
          device: 'cpu',
          maxBatchSize: images.length,
        });
        try {
          return await session.run(images);
        } finally {
          await session.dispose();
        }
      };
      const expected = await (devLogits ??= loadDevModelFile().then((dev) => logitsOf(dev.path)));
      const converted = await logitsOf(out);
      let maxDifference = 0;
      for (let i = 0; i < expected.length; i++)
        maxDifference = Math.max(maxDifference, Math.abs(expected[i]! - converted[i]!));
      // float32 round-trips exactly; float16 keeps about three significant digits.
      assert.ok(
        precision === 'float' ? maxDifference === 0 : maxDifference < 0.05 * Math.max(...expected.map(Math.abs)),
        `max |difference| ${maxDifference}`,
      );
    });
  }
});
