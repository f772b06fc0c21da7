import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../../../common/paths.js';
import { ALEXNET_LAYERS } from '../../../model/index.js';
import { readAlexNetOnnx } from '../../../model/quantize/read-alexnet-onnx.js';
import { loadDevModelFile } from '../../helpers/dev-model.js';
import { findPythonWithTorch } from '../../helpers/python-torch.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

const torch = findPythonWithTorch();
const skip = torch.python ? false : `skipped: ${torch.reason}`;

describe('model quantize reads torch.onnx’s export of AlexNet', { skip }, () => {
  it('finds the same parameters in torchvision’s export as in the graph this project builds', async () => {
    const dev = await loadDevModelFile();
    const exported = path.join(temporaryFolder('alexnet-torch-export-'), 'exported.onnx');
    const run = spawnSync(
      torch.python!,
      [path.join(projectRoot, 'test', 'model', 'quantize', 'export_torch_alexnet.py'), dev.path, exported],
      { encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);

    const ours = readAlexNetOnnx(await readFile(dev.path), dev.path).parameters;
    const theirs = readAlexNetOnnx(await readFile(exported), exported).parameters;
    let compared = 0;
    for (const layer of ALEXNET_LAYERS) {
      if (layer.kind !== 'conv' && layer.kind !== 'linear') continue;
      for (const role of ['weight', 'bias']) {
        const name: string = `${layer.name}.${role}`;
        assert.deepEqual(theirs(name, []), ours(name, []), name);
        compared++;
      }
    }
    assert.equal(compared, 16);
  });
});
