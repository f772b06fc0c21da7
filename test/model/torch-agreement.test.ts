import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../common/paths.js';
import { decodeImage, ImageClassifier, InferenceSession, packBatch, readModelFile } from '../../model/index.js';
import { loadDevModelFile } from '../helpers/dev-model.js';
import { findPythonWithTorch } from '../helpers/python-torch.js';
import { fixtureImageNames, readFixtureImage } from '../helpers/shared-fixtures.js';

const torch = findPythonWithTorch();
const skip = torch.python ? false : `skipped: ${torch.reason}`;

function runPython(args: string[]): void {
  const run = spawnSync(torch.python!, args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `${args[0]} failed: ${run.stderr}`);
}

describe('agreement with PyTorch', { skip }, () => {
  it('the dev graph computes what torchvision’s AlexNet computes with the same weights', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'alexnet-torch-'));
    const names = fixtureImageNames();
    // The production path: decoded images, normalised into the batch as the inference thread does.
    const images = await Promise.all(names.map(async (name) => (await decodeImage(readFixtureImage(name))).rgb));
    const batch = packBatch(images).input;
    await writeFile(path.join(folder, 'input.f32'), new Uint8Array(batch.buffer));
    const model = await loadDevModelFile();
    runPython([path.join(projectRoot, 'test', 'model', 'torch_reference_logits.py'), model.path, path.join(folder, 'input.f32'), path.join(folder, 'torch.f32')]);
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
    assert.ok(maxDifference <= 1e-3 * Math.max(1, maxMagnitude), `max |ORT − torch| = ${maxDifference} (max |logit| ${maxMagnitude})`);
  });

  it('the export script writes a model with a dynamic batch that the pipeline loads', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'alexnet-export-'));
    const out = path.join(folder, 'torchvision-none.onnx');
    runPython([path.join(projectRoot, 'model', 'export_pretrained.py'), '--weights', 'none', '--out', out]);
    const modelFile = await readModelFile(out);
    assert.deepEqual({ weights: modelFile.identity.weights, pretrained: modelFile.identity.pretrained }, { weights: 'torchvision:none', pretrained: false });
    const classifier = await ImageClassifier.load({ modelPath: out, maxBatchSize: 3, device: 'cpu' });
    try {
      assert.equal(classifier.modelSource, 'explicit');
      const images = await Promise.all(fixtureImageNames().slice(0, 3).map(async (name) => (await decodeImage(readFixtureImage(name))).rgb));
      const labels = await classifier.classifyBatch(images);
      assert.equal(labels.length, 3);
    } finally {
      await classifier.dispose();
    }
  });
});
