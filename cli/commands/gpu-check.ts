import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { projectRoot } from '../../common/paths.js';
import { configureImageDecoding, hasImageExtension } from '../../model/index.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { readGpuEnvironment } from '../gpu-check/gpu-environment.js';
import { formatGpuReport, gpuWorks } from '../gpu-check/gpu-report.js';
import { runGpuCheck } from '../gpu-check/run-gpu-check.js';
import { integerInRange } from '../support/option-parsers.js';

interface GpuCheckCommandOptions {
  model?: string;
  seconds: number;
}

/** `gpu-check`: on a GPU host (or `docker run --gpus all <image> gpu-check`), prove that the worker can use the GPU. */
export function gpuCheckCommand(logger: Logger): Command {
  return new Command('gpu-check')
    .description(
      'on a machine with an NVIDIA GPU: the driver, CUDA and cuDNN found, whether the CUDA provider loads, CUDA vs CPU top-5 agreement on the samples, and images/s at batch 1, 8, 32, 64',
    )
    .addOption(
      new Option('--model <path>', 'ONNX model file (default: model/alexnet.onnx, else the untrained dev model)').env(
        'MODEL_PATH',
      ),
    )
    .addOption(
      new Option('--seconds <n>', 'how long each speed measurement runs').argParser(integerInRange(1, 60)).default(3),
    )
    .action(async (options: GpuCheckCommandOptions) => {
      const environment = readGpuEnvironment();
      if (!environment.hasNvidiaGpu) {
        throw new CliError(
          'gpu-check: no NVIDIA GPU on this machine (no /dev/nvidia0, and nvidia-smi does not answer): run it on the GPU host, e.g. `docker run --rm --gpus all <worker image> gpu-check`',
        );
      }
      configureImageDecoding();
      const samples = path.join(projectRoot, 'samples');
      const images = (await readdir(samples)).filter(hasImageExtension).map((name) => path.join(samples, name));
      const report = await runGpuCheck({
        images,
        modelPath: options.model,
        secondsPerMeasurement: options.seconds,
        environment,
        logger,
      });
      process.stdout.write(`${formatGpuReport(report)}\n`);
      process.exitCode = gpuWorks(report) ? EXIT.ok : EXIT.error;
    });
}
