import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { buildDevAlexNetOnnx } from '../../../model/build-alexnet-onnx.js';
import { convertAlexNetCheckpoint } from '../../../model/checkpoint/convert-alexnet-checkpoint.js';
import { readModelFile } from '../../../model/index.js';
import { OnnxModelProto } from '../../../model/onnx-schema.js';
import { alexNetCheckpoint, devCheckpointFile } from '../../helpers/alexnet-checkpoint.js';
import { checkpointFixturesDirectory } from '../../helpers/fixtures.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

type Initializer = { name: string; rawData: Uint8Array };
const initializersOf = (bytes: Uint8Array) =>
  (OnnxModelProto.decode(bytes) as unknown as { graph: { initializer: Initializer[] } }).graph.initializer;

describe('convertAlexNetCheckpoint', () => {
  let folder: string;
  let checkpoint: string;
  before(async () => {
    folder = temporaryFolder('alexnet-convert-');
    checkpoint = await devCheckpointFile();
  });

  it('writes the dev builder’s graph with exactly the checkpoint’s weights, not marked pretrained', async () => {
    const out = path.join(folder, 'converted.onnx');
    const report = await convertAlexNetCheckpoint(checkpoint, { out });
    assert.equal(report.format, 'legacy');
    assert.equal(report.pretrained, false);
    assert.equal(report.weights, `pth:${report.checkpointSha256.slice(0, 16)}`);
    const converted = initializersOf(await readFile(out));
    const built = initializersOf(buildDevAlexNetOnnx());
    assert.deepEqual(
      converted.map((t) => t.name),
      built.map((t) => t.name),
    );
    converted.forEach((tensor, i) =>
      assert.ok(Buffer.from(tensor.rawData).equals(Buffer.from(built[i]!.rawData)), tensor.name),
    );
    const identity = (await readModelFile(out)).identity;
    assert.deepEqual([identity.weights, identity.pretrained], [report.weights, false]);
  });

  it('marks another checkpoint pretrained only when asked', async () => {
    const out = path.join(folder, 'trusted.onnx');
    assert.equal((await convertAlexNetCheckpoint(checkpoint, { out, pretrained: true })).pretrained, true);
    assert.equal((await readModelFile(out)).identity.pretrained, true);
  });

  it('refuses a checkpoint that is not AlexNet (the small fixture), naming missing keys, and writes nothing', async () => {
    const out = path.join(folder, 'not-alexnet.onnx');
    await assert.rejects(
      convertAlexNetCheckpoint(path.join(checkpointFixturesDirectory, 'small-zip.pth'), { out }),
      (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'CHECKPOINT_NOT_ALEXNET');
        assert.match((error as Error).message, /missing features\.3\.weight.*unexpected num_batches_tracked/);
        return true;
      },
    );
    assert.equal(existsSync(out), false);
  });

  it('refuses a wrong shape, naming the key and both shapes', async () => {
    const wrong = path.join(folder, 'wrong-shape.pth');
    await writeFile(
      wrong,
      alexNetCheckpoint((tensors) =>
        tensors.map((t) => (t.name === 'classifier.6.bias' ? { ...t, shape: [10], values: new Float32Array(10) } : t)),
      ),
    );
    await assert.rejects(
      convertAlexNetCheckpoint(wrong, { out: path.join(folder, 'x.onnx') }),
      /classifier\.6\.bias is \[10\], expected \[1000\]/,
    );
  });

  it('refuses integer weights as an unsupported dtype', async () => {
    const integers = path.join(folder, 'int64.pth');
    await writeFile(
      integers,
      alexNetCheckpoint((tensors) =>
        tensors.map((t) =>
          t.name === 'features.0.bias'
            ? { ...t, values: { storageType: 'LongStorage', bytes: new Uint8Array(64 * 8), numel: 64 } }
            : t,
        ),
      ),
    );
    await assert.rejects(convertAlexNetCheckpoint(integers, { out: path.join(folder, 'y.onnx') }), {
      code: 'CHECKPOINT_UNSUPPORTED_DTYPE',
    });
  });
});
