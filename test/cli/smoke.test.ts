import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { smokeProblems } from '../../cli/deploy-checks/smoke-checks.js';
import { startLocalServe, type LocalServeProcess } from '../../local/local-serve-process.js';
import { convertAlexNetCheckpoint } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { buildResult } from '../../pipeline/result-document.js';
import { devCheckpointFile } from '../helpers/alexnet-checkpoint.js';
import { runCli } from '../helpers/run-cli.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const canaryResult = (overrides: { device?: 'cpu' | 'cuda'; pretrained?: boolean; index?: number }) =>
  buildResult(
    { source: { bucket: 'b', key: 'uploads/smoke/chelsea.jpg', etag: 'e', size: 1 } },
    {
      outcome: {
        status: 'ok',
        labels: [
          { index: overrides.index ?? 281, label: overrides.index === 57 ? 'garter snake' : 'tabby', score: 0.9 },
        ],
      },
      model: {
        sha256: 'a'.repeat(64),
        weights: 'torchvision:IMAGENET1K_V1',
        pretrained: overrides.pretrained ?? true,
        precision: 'fp32' as const,
      },
      fingerprint: 'f',
      device: overrides.device ?? 'cuda',
      timings: { preprocessMs: 1, inferenceMs: 1, batchSize: 1 },
      processedAt: new Date(),
    },
  );

describe('smokeProblems', () => {
  it('accepts a pretrained cat on cuda, and a local CPU run', () => {
    assert.deepEqual(smokeProblems(canaryResult({}), 'aws'), []);
    assert.deepEqual(smokeProblems(canaryResult({ device: 'cpu' }), 'local'), []);
  });
  it('fails a deployed stack that answers on the CPU', () => {
    assert.match(smokeProblems(canaryResult({ device: 'cpu' }), 'aws')[0]!, /ran on cpu, not cuda/);
  });
  it('fails pretrained weights that do not call the cat a cat, but not untrained ones', () => {
    assert.match(
      smokeProblems(canaryResult({ index: 57 }), 'aws')[0]!,
      /call the sample cat "garter snake", not a cat/,
    );
    assert.deepEqual(smokeProblems(canaryResult({ index: 57, pretrained: false }), 'local'), []);
  });
});

describe('alexnet-pipeline smoke against local --serve', () => {
  let serve: LocalServeProcess;
  let environment: Record<string, string>;
  before(async () => {
    const folder = temporaryFolder('alexnet-smoke-');
    environment = { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') };
    serve = await startLocalServe([], environment);
  });
  after(() => serve.stop());

  it('uploads the canary, reports time, device, weights and label, and removes its objects', async () => {
    const run = await runCli(['smoke', '--local', '--timeout', '60'], { env: environment });
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /^result after \d+\.\d s: .+ \(\d\.\d{3}\) on cpu, weights untrained:he-normal:seed=\d+ \(NOT pretrained\); canary objects removed$/m,
    );
    assert.match(run.stdout, /UNTRAINED weights/);
    const status = JSON.parse((await runCli(['status', '--local', '--format', 'json'], { env: environment })).stdout);
    assert.deepEqual([status.uploads, status.results], [0, 0], 'the canary and its result are gone');
  });

  it('says what to pass when there is no target', async () => {
    const run = await runCli(['smoke'], {
      env: { ALEXNET_LOCAL_STATE_FILE: '/nonexistent/state.json', BUCKET_NAME: '' },
      cwd: tmpdir(),
    });
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^error: smoke needs a pipeline: pass --local for `alexnet-pipeline local --serve`, or --bucket/m,
    );
  });
});

describe('alexnet-pipeline smoke with pretrained weights that are wrong', () => {
  let serve: LocalServeProcess;
  let environment: Record<string, string>;
  before(async () => {
    const folder = temporaryFolder('alexnet-smoke-bad-');
    const checkpoint = await devCheckpointFile();
    const model = path.join(folder, 'mislabelled.onnx');
    // The dev weights marked pretrained: a model that claims to be real and is not.
    await convertAlexNetCheckpoint(checkpoint, { out: model, pretrained: true });
    environment = { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') };
    serve = await startLocalServe(['--model', model], environment);
  });
  after(() => serve.stop());

  it('exits 1 when the weights say pretrained but do not call the cat a cat', async () => {
    const run = await runCli(['smoke', '--local', '--timeout', '60'], { env: environment });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: the pretrained weights call the sample cat ".+", not a cat/m);
  });
});
