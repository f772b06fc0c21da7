import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { CheckpointError } from '../../model/checkpoint/checkpoint-errors.js';
import { convertAlexNetCheckpoint, type ConversionReport } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { hashPrefixInName, OFFICIAL_ALEXNET_CHECKPOINT } from '../../model/checkpoint/official-weights.js';
import { DEFAULT_MODEL_FILE } from '../../model/index.js';
import { downloadVerified } from '../checkpoint-download.js';
import { CliError } from '../cli-error.js';
import { integerInRange } from '../option-parsers.js';
import { partFileFor, removeOnSignal, removeStalePartFiles } from '../part-files.js';

interface ConvertCommandOptions {
  out: string;
  pretrained?: boolean;
}

interface FetchCommandOptions {
  url: string;
  out: string;
  sha256?: string;
  maxBytes: number;
}

/** The largest download `model fetch` accepts from a URL other than the official one: AlexNet in float64 is about 490 MB. */
export const MAX_CHECKPOINT_DOWNLOAD_BYTES = 1024 * 2 ** 20;

/** `model convert` and `model fetch`: real weights from a PyTorch checkpoint, without Python. */
export function modelCommand(logger: Logger): Command {
  const command = new Command('model').description('get real (pretrained) weights: convert a PyTorch AlexNet checkpoint to the ONNX model the pipeline runs');
  command
    .command('convert')
    .description("convert a torchvision AlexNet checkpoint (.pth, either torch.save format) to ONNX; the checkpoint is read without running any of it")
    .argument('<checkpoint>', 'a .pth file holding the state_dict of torchvision.models.alexnet')
    .addOption(new Option('--out <file>', 'where to write the ONNX model').default(path.relative(process.cwd(), DEFAULT_MODEL_FILE) || DEFAULT_MODEL_FILE))
    .addOption(new Option('--pretrained', 'mark the weights as pretrained although the checkpoint is not the official IMAGENET1K_V1 file'))
    .action(async (checkpoint: string, options: ConvertCommandOptions) => {
      printConversion(await convert(checkpoint, options.out, options.pretrained === true));
    });
  command
    .command('fetch')
    .description(`download torchvision's IMAGENET1K_V1 AlexNet checkpoint (233 MB), verify its SHA-256, convert it, and remove it`)
    .addOption(new Option('--url <url>', 'where to download the checkpoint from (a mirror, or an internal copy)').default(OFFICIAL_ALEXNET_CHECKPOINT.url))
    .addOption(new Option('--sha256 <hex>', 'the full SHA-256 the download must have (default: the official file’s, or the hash prefix in a torch.hub-style name-<hex>.pth)'))
    .addOption(new Option('--out <file>', 'where to write the ONNX model').default(path.relative(process.cwd(), DEFAULT_MODEL_FILE) || DEFAULT_MODEL_FILE))
    .addOption(
      new Option('--max-bytes <n>', `the largest download accepted from another --url (the official file must have its own ${OFFICIAL_ALEXNET_CHECKPOINT.bytes} bytes)`)
        .argParser(integerInRange(1, Number.MAX_SAFE_INTEGER))
        .default(MAX_CHECKPOINT_DOWNLOAD_BYTES),
    )
    .action(async (options: FetchCommandOptions) => {
      checkDownloadUrl(options.url);
      const expected = expectedHash(options);
      const outFolder = path.dirname(path.resolve(options.out));
      await mkdir(outFolder, { recursive: true });
      const removed = await removeStalePartFiles(outFolder);
      if (removed.length > 0) logger.info({ removed }, 'removed downloads left by processes that are gone');
      const checkpoint = partFileFor(outFolder);
      const keepOnSignal = removeOnSignal(checkpoint);
      try {
        logger.info({ url: options.url }, 'downloading the checkpoint');
        const download = await downloadVerified({
          url: options.url,
          file: checkpoint,
          expectedSha256: expected,
          maxBytes: options.url === OFFICIAL_ALEXNET_CHECKPOINT.url ? OFFICIAL_ALEXNET_CHECKPOINT.bytes : options.maxBytes,
          offlineHint: `The official file is ${OFFICIAL_ALEXNET_CHECKPOINT.url} (SHA-256 ${OFFICIAL_ALEXNET_CHECKPOINT.sha256}).`,
        });
        logger.info({ bytes: download.bytes, sha256: download.sha256 }, 'checkpoint downloaded and verified');
        printConversion(await convert(checkpoint, options.out, false));
      } finally {
        keepOnSignal();
        await rm(checkpoint, { force: true });
      }
    });
  return command;
}

/** `--url` must be an http(s) URL: anything else is one line, before anything is written. */
function checkDownloadUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(`--url ${JSON.stringify(url)} is not a URL: give an http(s) address such as ${OFFICIAL_ALEXNET_CHECKPOINT.url}; nothing was written`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new CliError(`--url ${JSON.stringify(url)} is not an http(s) URL; nothing was written`);
}

/** What the download must hash to: the official file's SHA-256, `--sha256`, or the prefix in a torch.hub-style name. */
function expectedHash(options: FetchCommandOptions): string {
  if (options.sha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(options.sha256)) throw new CliError('--sha256 must be 64 hexadecimal digits');
    return options.sha256.toLowerCase();
  }
  if (options.url === OFFICIAL_ALEXNET_CHECKPOINT.url) return OFFICIAL_ALEXNET_CHECKPOINT.sha256;
  const prefix = hashPrefixInName(new URL(options.url).pathname.split('/').at(-1) ?? '');
  if (!prefix) throw new CliError(`cannot verify ${options.url}: its file name carries no hash (torch.hub names them name-<8 hex digits>.pth); pass --sha256 with the file's full SHA-256`);
  return prefix;
}

async function convert(checkpoint: string, out: string, pretrained: boolean): Promise<ConversionReport> {
  try {
    return await convertAlexNetCheckpoint(checkpoint, { out, pretrained });
  } catch (error) {
    if (error instanceof CheckpointError) {
      const subject = path.basename(checkpoint).startsWith('.checkpoint-') ? 'the downloaded checkpoint' : checkpoint;
      throw new CliError(`${error.message.includes(checkpoint) ? error.message : `${subject}: ${error.message}`}; nothing was written`, { cause: error, code: error.code });
    }
    throw error;
  }
}

function printConversion(report: ConversionReport): void {
  const trust = report.pretrained ? 'pretrained' : 'NOT marked pretrained (not the official IMAGENET1K_V1 file; --pretrained says otherwise)';
  process.stdout.write(`wrote ${report.out}: weights ${report.weights}, ${trust}; from a ${report.format}-format checkpoint with SHA-256 ${report.checkpointSha256}\n`);
}
