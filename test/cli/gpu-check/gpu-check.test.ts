import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { formatGpuReport, gpuWorks, type GpuReport } from '../../../cli/gpu-check/gpu-report.js';
import { runGpuCheck } from '../../../cli/gpu-check/run-gpu-check.js';
import { runCli } from '../../helpers/run-cli.js';
import { fixtureImagesDirectory } from '../../helpers/fixtures.js';

const environment = {
  hasNvidiaGpu: true,
  gpuName: 'Tesla T4',
  driverVersion: '580.95.05',
  cudaVersion: '13.1.80',
  cudnnVersion: '9.17.0',
};

describe('alexnet-pipeline gpu-check', () => {
  it('without a GPU says so in one line and exits 1', async () => {
    const run = await runCli(['gpu-check']);
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      'error: gpu-check: no NVIDIA GPU on this machine (no /dev/nvidia0, and nvidia-smi does not answer): run it on the GPU host, e.g. `docker run --rm --gpus all <worker image> gpu-check`\n',
    );
  });

  it('reports versions, the provider, agreement and images/s against the CPU (the CPU standing in for CUDA here)', async () => {
    const images = ['chelsea.jpg', 'coffee.jpg'].map((name) => path.join(fixtureImagesDirectory, name));
    const report = await runGpuCheck({
      images,
      device: 'cpu',
      batchSizes: [1, 4],
      secondsPerMeasurement: 0.2,
      environment,
    });
    assert.equal(gpuWorks(report), true);
    assert.deepEqual(
      report.agreement!.map((row) => [row.image, row.sameTopFive]),
      [
        ['chelsea.jpg', true],
        ['coffee.jpg', true],
      ],
    );
    assert.deepEqual(
      report.throughput!.map((row) => row.batchSize),
      [1, 4],
    );
    for (const row of report.throughput!) assert.ok(row.cudaImagesPerSecond > 0 && row.cpuImagesPerSecond > 0);
    const text = formatGpuReport(report);
    assert.match(text, /^GPU +Tesla T4$/m);
    assert.match(text, /^NVIDIA driver +580\.95\.05$/m);
    assert.match(text, /^CUDA runtime +13\.1\.80$/m);
    assert.match(text, /^cuDNN +9\.17\.0$/m);
    assert.match(text, /^CUDA provider +loaded$/m);
    assert.match(text, /^top-5 agreement CUDA vs CPU: 2 of 2 images, largest score difference \d\.\de[+-]\d+$/m);
    assert.match(text, /^ +1 +\d+ +\d+ +\d+\.\d×$/m);
    assert.match(text, /^the GPU works: the worker will run on it$/m);
  });

  it('names what kept the provider from loading, and says the GPU does not work', () => {
    const report: GpuReport = {
      environment: { hasNvidiaGpu: true, driverVersion: '550.54.15' },
      provider: { loaded: false, error: 'libcudnn.so.9: cannot open shared object file' },
    };
    const text = formatGpuReport(report);
    assert.match(text, /^CUDA provider +did not load: libcudnn\.so\.9: cannot open shared object file$/m);
    assert.match(text, /^CUDA runtime +not found$/m);
    assert.equal(gpuWorks(report), false);
    assert.match(text, /the GPU does not work for the worker/);
    const disagreeing: GpuReport = {
      environment,
      provider: { loaded: true },
      agreement: [{ image: 'a.jpg', sameTopFive: false, largestScoreDifference: 0.2 }],
    };
    assert.equal(gpuWorks(disagreeing), false);
    assert.match(formatGpuReport(disagreeing), /^ {2}differs: a\.jpg$/m);
  });
});
