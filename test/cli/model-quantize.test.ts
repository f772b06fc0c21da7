import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ensureDevModel } from '../../model/index.js';
import { fixtureImagesDirectory } from '../helpers/fixtures.js';
import { jsonLines, runCli } from '../helpers/run-cli.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

/** A failure as users see it: one `error:` line, no stack, exit 1. */
function assertOneLineFailure(run: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(run.status, 1, run.stderr);
  const errors = run.stderr.split('\n').filter((line) => line.startsWith('error:'));
  assert.equal(errors.length, 1, run.stderr);
  assert.match(errors[0]!, pattern);
  assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
}

describe('alexnet-pipeline model quantize and --precision int8', () => {
  const folder = temporaryFolder('alexnet-cli-int8-');
  const cache = path.join(folder, 'cache');
  const env = { ALEXNET_CACHE_DIR: cache, ALEXNET_OFFLINE: '1' };
  const chelsea = path.join(fixtureImagesDirectory, 'chelsea.jpg');
  let devModel: string;

  before(async () => {
    devModel = await ensureDevModel();
  });

  it('quantizes a model to a file and says what it made, untrained included', async () => {
    const out = path.join(folder, 'int8.onnx');
    const run = await runCli(['model', 'quantize', '--model', devModel, '--out', out], { env });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^wrote .*int8\.onnx: int8 \(QDQ\), 61\.\d MB from 244\.\d MB, in [\d.]+ s$/m);
    assert.match(run.stdout, /weights untrained:he-normal:seed=\d+, UNTRAINED/);
    assert.match(run.stdout, /calibrated on 5 images \(set SHA-256 [0-9a-f]{64}\)/);
    assert.ok(existsSync(out));

    const status = await runCli(['model', 'status', '--model', out], { env });
    assert.match(status.stdout, /^precision +int8, quantized from [0-9a-f]{64} on 5 calibration images$/m);
  });

  it('refuses bad input in one line and writes nothing', async () => {
    const out = path.join(folder, 'refused.onnx');
    const empty = temporaryFolder('alexnet-cli-calibration-');
    writeFileSync(path.join(empty, 'readme.txt'), 'no images here');
    assertOneLineFailure(
      await runCli(['model', 'quantize', '--model', devModel, '--out', out, '--calibration', empty], { env }),
      /^error: the calibration folder .* holds no images/,
    );
    assertOneLineFailure(
      await runCli(['model', 'quantize', '--model', devModel, '--out', devModel], { env }),
      /^error: --out .* is the model being quantized/,
    );
    assertOneLineFailure(
      await runCli(['model', 'quantize', '--model', chelsea, '--out', out], { env }),
      /^error: .*chelsea\.jpg is not an ONNX model/,
    );
    assert.equal(existsSync(out), false);
  });

  it('classify --precision int8 quantizes once, caches, and says int8 in every result', async () => {
    const first = await runCli(['classify', chelsea, '--model', devModel, '--precision', 'int8'], { env });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /quantizing the model to int8 \(once; cached\)/);
    // `--device auto` (the default) with an int8 model: the log says why the CPU, not "requested".
    assert.match(
      first.stderr,
      /"device":"cpu","reason":"an int8 model runs on the CPU[^"]*"[^\n]*"msg":"inference device chosen"/,
    );
    const [result] = jsonLines(first.stdout);
    assert.equal(result!.status, 'ok');
    assert.equal(result!.model.precision, 'int8');
    assert.equal(result!.model.pretrained, false);
    assert.match(result!.model.quantization.method, /^qdq-static\//);

    const second = await runCli(['classify', chelsea, '--model', devModel], { env: { ...env, PRECISION: 'int8' } });
    assert.equal(second.status, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /quantizing/, 'the cached int8 model is used');
    assert.equal(jsonLines(second.stdout)[0]!.model.sha256, result!.model.sha256);

    const fp32 = await runCli(['classify', chelsea, '--model', devModel], { env });
    assert.equal(jsonLines(fp32.stdout)[0]!.model.precision, 'fp32');
  });

  it('refuses an int8 model given --precision int8, and an int8 model on CUDA', async () => {
    const int8 = path.join(folder, 'int8.onnx');
    assertOneLineFailure(
      await runCli(['classify', chelsea, '--model', int8, '--precision', 'int8'], { env }),
      /^error: --precision int8: .*int8\.onnx is an int8 model already; run it without --precision int8/,
    );
    assertOneLineFailure(
      await runCli(['classify', chelsea, '--model', int8, '--device', 'cuda'], { env }),
      /^error: --device cuda: an int8 model runs on the CPU/,
    );
  });
});
