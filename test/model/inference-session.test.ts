import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  decodeImage,
  ImageClassifier,
  InferenceSession,
  MODEL_INPUT,
  ModelError,
  readModelFile,
} from '../../model/index.js';
import { OnnxModelProto } from '../../model/onnx-schema.js';
import { loadDevModelFile } from '../helpers/dev-model.js';
import { fixtureImageNames, readFixtureImage } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

/** A valid ONNX model that is not a classifier: Identity from [N,3,224,224] to the same shape. */
function identityModel(): Uint8Array {
  const tensor = (name: string) => ({
    name,
    type: {
      tensorType: {
        elemType: 1,
        shape: { dim: [{ dimParam: 'n' }, { dimValue: 3 }, { dimValue: 224 }, { dimValue: 224 }] },
      },
    },
  });
  return OnnxModelProto.encode(
    OnnxModelProto.fromObject({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'identity',
        node: [{ input: ['x'], output: ['y'], opType: 'Identity', name: 'id' }],
        input: [tensor('x')],
        output: [tensor('y')],
      },
    }),
  ).finish();
}

describe('InferenceSession', () => {
  let folder: string;
  before(async () => {
    folder = temporaryFolder('alexnet-session-');
  });

  it('opens the dev model on the CPU, reading its input and output names from the session', async () => {
    const session = await InferenceSession.create(await loadDevModelFile(), { device: 'auto', maxBatchSize: 4 });
    try {
      assert.equal(session.device, 'cpu');
      assert.equal(session.inputName, 'pixel_values');
      assert.equal(session.outputName, 'logits');
      assert.equal(session.model.pretrained, false);
      assert.match(session.model.sha256, /^[0-9a-f]{64}$/);
      const black = () => new Uint8Array(MODEL_INPUT.cropSize * MODEL_INPUT.cropSize * MODEL_INPUT.channels);
      assert.equal((await session.run([black(), black()])).length, 2000);
      await assert.rejects(session.run(Array.from({ length: 5 }, black)), RangeError);
    } finally {
      await session.dispose();
    }
  });

  it('rejects a model that is not a [N,3,224,224] → [N,1000] classifier', async () => {
    const file = path.join(folder, 'identity.onnx');
    await writeFile(file, identityModel());
    await assert.rejects(InferenceSession.create(await readModelFile(file)), (error: unknown) => {
      assert.ok(error instanceof ModelError);
      assert.equal(error.code, 'MODEL_INVALID');
      assert.match(error.message, /output is float32 \[1,3,224,224\]/);
      return true;
    });
  });

  it('rejects a file that is not ONNX, and a file that does not exist', async () => {
    const file = path.join(folder, 'notes.onnx');
    await writeFile(file, 'not a model at all');
    await assert.rejects(async () => InferenceSession.create(await readModelFile(file)), { code: 'MODEL_INVALID' });
    await assert.rejects(readModelFile(path.join(folder, 'missing.onnx')), { code: 'MODEL_NOT_FOUND' });
    await assert.rejects(ImageClassifier.load({ modelPath: path.join(folder, 'missing.onnx') }), {
      code: 'MODEL_NOT_FOUND',
    });
  });

  it('fails with DEVICE_UNAVAILABLE, not a silent fallback, when cuda is required and cannot load', async () => {
    await assert.rejects(InferenceSession.create(await loadDevModelFile(), { device: 'cuda' }), {
      code: 'DEVICE_UNAVAILABLE',
    });
  });
});

describe('ImageClassifier', () => {
  let classifier: ImageClassifier;
  before(async () => {
    classifier = await ImageClassifier.load({ maxBatchSize: 8, topK: 3 });
  });
  after(() => classifier.dispose());

  it('gives each image the same labels alone as in a batch, and different images different scores', async () => {
    const tensors = await Promise.all(
      fixtureImageNames().map(async (name) => (await decodeImage(readFixtureImage(name))).rgb),
    );
    const batched = await classifier.classifyBatch(tensors);
    assert.equal(batched.length, tensors.length);
    for (let i = 0; i < tensors.length; i++) {
      const [alone] = await classifier.classifyBatch([tensors[i]!]);
      assert.deepEqual(
        alone!.map((l) => l.index),
        batched[i]!.map((l) => l.index),
      );
      for (let k = 0; k < 3; k++) assert.ok(Math.abs(alone![k]!.score - batched[i]![k]!.score) < 1e-4);
    }
    for (const labels of batched) {
      assert.equal(labels.length, 3);
      assert.ok(labels[0]!.score >= labels[1]!.score && labels[1]!.score >= labels[2]!.score);
    }
    const topScores = new Set(batched.map((labels) => labels[0]!.score.toFixed(6)));
    assert.equal(topScores.size, tensors.length, 'outputs must depend on the image');
  });

  it('names its model as the untrained dev model', () => {
    assert.equal(classifier.modelSource, 'dev');
    assert.equal(classifier.model.pretrained, false);
    assert.match(classifier.model.weights, /^untrained:he-normal:seed=\d+$/);
  });
});
