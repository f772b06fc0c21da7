import path from 'node:path';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { type ConversionReport } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { OFFICIAL_ALEXNET_CHECKPOINT } from '../../model/checkpoint/official-weights.js';
import { DEFAULT_MODEL_FILE } from '../../model/index.js';
import { MAX_CHECKPOINT_DOWNLOAD_BYTES } from '../../model/pretrained/download-verified.js';
import { userModelCacheDirectory } from '../../model/pretrained/weights-source.js';
import { integerInRange } from '../support/option-parsers.js';
import { convertCheckpoint, fetchAndConvert, type FetchCommandOptions } from '../model/fetch-model.js';
import { modelStatusLines } from '../model/model-status.js';
import { quantizationLines, quantizeModel, type QuantizeCommandOptions } from '../model/quantize-model.js';

interface ConvertCommandOptions {
  out: string;
  pretrained?: boolean;
}

/** `model convert`, `model fetch`, `model quantize` and `model status`: real weights from a PyTorch checkpoint, without Python. */
export function modelCommand(logger: Logger): Command {
  const command = new Command('model').description(
    'get real (pretrained) weights: convert a PyTorch AlexNet checkpoint to the ONNX model the pipeline runs',
  );
  command
    .command('convert')
    .description(
      'convert a torchvision AlexNet checkpoint (.pth, either torch.save format) to ONNX; the checkpoint is read without running any of it',
    )
    .argument('<checkpoint>', 'a .pth file holding the state_dict of torchvision.models.alexnet')
    .addOption(
      new Option('--out <file>', 'where to write the ONNX model').default(
        path.relative(process.cwd(), DEFAULT_MODEL_FILE) || DEFAULT_MODEL_FILE,
      ),
    )
    .addOption(
      new Option(
        '--pretrained',
        'mark the weights as pretrained although the checkpoint is not the official IMAGENET1K_V1 file',
      ),
    )
    .action(async (checkpoint: string, options: ConvertCommandOptions) => {
      printConversion(await convertCheckpoint(checkpoint, options.out, options.pretrained === true));
    });
  command
    .command('fetch')
    .description(
      `download torchvision's IMAGENET1K_V1 AlexNet checkpoint (233 MB), verify its SHA-256, convert it into the per-user model cache (every run then uses it), and remove the checkpoint`,
    )
    .addOption(
      new Option('--url <url>', 'where to download the checkpoint from (a mirror, or an internal copy)').default(
        OFFICIAL_ALEXNET_CHECKPOINT.url,
      ),
    )
    .addOption(
      new Option(
        '--sha256 <hex>',
        'the full SHA-256 the download must have (default: the official file’s, or the hash prefix in a torch.hub-style name-<hex>.pth)',
      ),
    )
    .addOption(
      new Option(
        '--out <file>',
        `where to write the ONNX model (default: the per-user model cache, ${userModelCacheDirectory()}, where runs look for it)`,
      ),
    )
    .addOption(
      new Option(
        '--max-bytes <n>',
        `the largest download accepted from another --url (the official file must have its own ${OFFICIAL_ALEXNET_CHECKPOINT.bytes} bytes)`,
      )
        .argParser(integerInRange(1, Number.MAX_SAFE_INTEGER))
        .default(MAX_CHECKPOINT_DOWNLOAD_BYTES),
    )
    .action(async (options: FetchCommandOptions) => {
      printConversion(await fetchAndConvert(options, logger));
    });
  command
    .command('quantize')
    .description(
      'quantize an fp32 AlexNet to int8 (static QDQ, calibrated on images) for fast CPU inference, in TypeScript; nothing is written on failure',
    )
    .addOption(
      new Option(
        '--model <path>',
        'the fp32 ONNX model (default: the model a run would use; `model status` says which)',
      ).env('MODEL_PATH'),
    )
    .requiredOption('--out <file>', 'where to write the int8 model')
    .addOption(
      new Option(
        '--calibration <folder>',
        'a folder of images like those the model will see, for the activation ranges (default: the project’s samples/)',
      ),
    )
    .addOption(new Option('--offline', 'never download the pretrained weights to find the default model'))
    .addOption(new Option('--threads <n>', 'CPU threads for calibration').argParser(integerInRange(1, 256)))
    .action(async (options: QuantizeCommandOptions) => {
      process.stdout.write(`${quantizationLines(await quantizeModel(options, logger)).join('\n')}\n`);
    });
  command
    .command('status')
    .description(
      'which model a run would use, where it lives, its SHA-256 and whether it is pretrained (downloads and builds nothing)',
    )
    .addOption(new Option('--model <path>', 'an ONNX model a run would be given').env('MODEL_PATH'))
    .addOption(new Option('--offline', 'as a run with --offline would see it'))
    .action(async (options: { model?: string; offline?: boolean }) => {
      process.stdout.write(`${(await modelStatusLines(options)).join('\n')}\n`);
    });
  return command;
}

function printConversion(report: ConversionReport): void {
  const trust = report.pretrained
    ? 'pretrained'
    : 'NOT marked pretrained (not the official IMAGENET1K_V1 file; --pretrained says otherwise)';
  process.stdout.write(
    `wrote ${report.out}: weights ${report.weights}, ${trust}; from a ${report.format}-format checkpoint with SHA-256 ${report.checkpointSha256}\n`,
  );
}
