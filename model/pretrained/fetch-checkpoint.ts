import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { convertAlexNetCheckpoint, type ConversionReport } from '../checkpoint/convert-alexnet-checkpoint.js';
import { downloadVerified, type DownloadProgressFactory } from './download-verified.js';
import { partFileFor, removeOnSignal, removeStalePartFiles } from './part-files.js';
import type { WeightsSource } from './weights-source.js';

/** Options of {@link fetchCheckpointAndConvert}. */
export interface FetchCheckpointOptions {
  readonly source: WeightsSource;
  /** The ONNX model to write (atomically: a reader never sees half of it). */
  readonly out: string;
  readonly idleTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly progress?: DownloadProgressFactory;
  /** Added to a network failure's line: how to get the file by other means. Default: nothing. */
  readonly offlineHint?: string;
}

/**
 * Downloads a checkpoint into a part file beside `out` (removed on a signal, and by the next run
 * if its process is gone), verifies its SHA-256, converts it to ONNX and removes it. Download
 * failures are `DownloadError`s, a checkpoint that is not AlexNet a `CheckpointError`; in every
 * case nothing is left but what was there before.
 */
export async function fetchCheckpointAndConvert(
  options: FetchCheckpointOptions,
  logger: Logger,
): Promise<{ report: ConversionReport; bytes: number }> {
  const { source } = options;
  const outFolder = path.dirname(path.resolve(options.out));
  await mkdir(outFolder, { recursive: true });
  const removed = await removeStalePartFiles(outFolder);
  if (removed.length > 0) logger.info({ removed }, 'removed downloads left by processes that are gone');
  const checkpoint = partFileFor(outFolder);
  const keepOnSignal = removeOnSignal(checkpoint);
  try {
    const download = await downloadVerified({
      url: source.url,
      file: checkpoint,
      expectedSha256: source.expectedSha256,
      maxBytes: source.maxBytes,
      idleTimeoutMs: options.idleTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      progress: options.progress,
      offlineHint: options.offlineHint,
    });
    logger.info({ bytes: download.bytes, sha256: download.sha256 }, 'checkpoint downloaded and verified');
    const report = await convertAlexNetCheckpoint(checkpoint, { out: options.out, pretrained: false });
    return { report, bytes: download.bytes };
  } finally {
    keepOnSignal();
    await rm(checkpoint, { force: true });
  }
}
