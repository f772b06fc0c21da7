import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { CheckpointError } from '../../model/checkpoint/checkpoint-errors.js';
import { convertAlexNetCheckpoint, type ConversionReport } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { hashPrefixInName, OFFICIAL_ALEXNET_CHECKPOINT } from '../../model/checkpoint/official-weights.js';
import { downloadVerified } from './checkpoint-download.js';
import { CliError } from '../support/cli-error.js';
import { partFileFor, removeOnSignal, removeStalePartFiles } from './part-files.js';

export interface FetchCommandOptions {
  url: string;
  out: string;
  sha256?: string;
  maxBytes: number;
}

/** `--url` must be an http(s) URL: anything else is one line, before anything is written. */
function checkDownloadUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CliError(
      `--url ${JSON.stringify(url)} is not a URL: give an http(s) address such as ${OFFICIAL_ALEXNET_CHECKPOINT.url}; nothing was written`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new CliError(`--url ${JSON.stringify(url)} is not an http(s) URL; nothing was written`);
}

/** What the download must hash to: the official file's SHA-256, `--sha256`, or the prefix in a torch.hub-style name. */
function expectedHash(options: FetchCommandOptions): string {
  if (options.sha256 !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(options.sha256)) throw new CliError('--sha256 must be 64 hexadecimal digits');
    return options.sha256.toLowerCase();
  }
  if (options.url === OFFICIAL_ALEXNET_CHECKPOINT.url) return OFFICIAL_ALEXNET_CHECKPOINT.sha256;
  const prefix = hashPrefixInName(new URL(options.url).pathname.split('/').at(-1) ?? '');
  if (!prefix)
    throw new CliError(
      `cannot verify ${options.url}: its file name carries no hash (torch.hub names them name-<8 hex digits>.pth); pass --sha256 with the file's full SHA-256`,
    );
  return prefix;
}

export async function convertCheckpoint(
  checkpoint: string,
  out: string,
  pretrained: boolean,
): Promise<ConversionReport> {
  try {
    return await convertAlexNetCheckpoint(checkpoint, { out, pretrained });
  } catch (error) {
    if (error instanceof CheckpointError) {
      const subject = path.basename(checkpoint).startsWith('.checkpoint-') ? 'the downloaded checkpoint' : checkpoint;
      throw new CliError(
        `${error.message.includes(checkpoint) ? error.message : `${subject}: ${error.message}`}; nothing was written`,
        { cause: error, code: error.code },
      );
    }
    throw error;
  }
}

/**
 * `model fetch`: downloads the checkpoint into a part file (removed on a signal, and by the next run
 * if its process is gone), verifies its SHA-256, converts it and removes it.
 */
export async function fetchAndConvert(options: FetchCommandOptions, logger: Logger): Promise<ConversionReport> {
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
    return await convertCheckpoint(checkpoint, options.out, false);
  } finally {
    keepOnSignal();
    await rm(checkpoint, { force: true });
  }
}
