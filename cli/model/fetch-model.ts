import type { Logger } from '../../common/logger.js';
import { CheckpointError } from '../../model/checkpoint/checkpoint-errors.js';
import { convertAlexNetCheckpoint, type ConversionReport } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { OFFICIAL_ALEXNET_CHECKPOINT } from '../../model/checkpoint/official-weights.js';
import { fetchCheckpointAndConvert } from '../../model/pretrained/fetch-checkpoint.js';
import {
  cachedModelFile,
  userModelCacheDirectory,
  weightsSource,
  type WeightsSource,
} from '../../model/pretrained/weights-source.js';
import { ConfigurationError } from '../../common/errors.js';
import { CliError } from '../support/cli-error.js';
import { createProgress } from '../support/progress-bar.js';

export interface FetchCommandOptions {
  url: string;
  /** Default: the per-user model cache's file for the source, where every run looks. */
  out?: string;
  sha256?: string;
  maxBytes: number;
}

/**
 * A checkpoint that is not AlexNet (or not a checkpoint) is one line that names it: as `subject`,
 * unless the message already names the file (`named`, or a part of its path).
 */
function checkpointFailure(error: CheckpointError, subject: string, named = subject): CliError {
  return new CliError(
    `${error.message.includes(named) ? error.message : `${subject}: ${error.message}`}; nothing was written`,
    { cause: error, code: error.code },
  );
}

export async function convertCheckpoint(
  checkpoint: string,
  out: string,
  pretrained: boolean,
): Promise<ConversionReport> {
  try {
    return await convertAlexNetCheckpoint(checkpoint, { out, pretrained });
  } catch (error) {
    if (error instanceof CheckpointError) throw checkpointFailure(error, checkpoint);
    throw error;
  }
}

/**
 * `model fetch`: the checkpoint at `--url` (verified by `--sha256`, the official hash or its
 * torch.hub name), downloaded with a progress bar on a terminal, converted, and removed.
 */
export async function fetchAndConvert(options: FetchCommandOptions, logger: Logger): Promise<ConversionReport> {
  let source: WeightsSource;
  try {
    source = weightsSource(options, { url: '--url', sha256: '--sha256' });
  } catch (error) {
    if (error instanceof ConfigurationError)
      throw new CliError(`${error.message}; nothing was written`, { cause: error });
    throw error;
  }
  const out = options.out ?? cachedModelFile(userModelCacheDirectory(), source);
  logger.info({ url: source.url }, 'downloading the checkpoint');
  try {
    const fetched = await fetchCheckpointAndConvert(
      {
        source,
        out,
        progress: (total) => createProgress(total, 'download'),
        offlineHint: `Without a network: get the file elsewhere, then run \`alexnet-pipeline model convert <file.pth>\`. The official file is ${OFFICIAL_ALEXNET_CHECKPOINT.url} (SHA-256 ${OFFICIAL_ALEXNET_CHECKPOINT.sha256}).`,
      },
      logger,
    );
    return fetched.report;
  } catch (error) {
    // The part file is named `.checkpoint-<pid>.pth.part` (part-files.ts).
    if (error instanceof CheckpointError) throw checkpointFailure(error, 'the downloaded checkpoint', '.checkpoint-');
    throw error;
  }
}
