import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { hasImageExtension } from '../../model/image-formats.js';
import { resultKeyFor, resultsPrefixFor } from '../../pipeline/object-keys.js';
import { addLongKeyResults, readResult, UnreadableResultError } from './bucket-reader.js';
import { listKeys, listObjects } from '../../pipeline/s3-operations.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { formatCsv, formatTable, resultRow, UNTRAINED_NOTICE, type ReadBack } from './result-format.js';
import { type Target, type TargetOptions } from '../target/target.js';
import { uploadKeyFromArgument } from './object-arguments.js';

export const FORMATS = ['table', 'json', 'csv'] as const;

export interface ResultsOptions extends TargetOptions {
  wait?: boolean;
  timeout: number;
  format: (typeof FORMATS)[number];
}

async function isUploaded(target: Target, uploadKey: string): Promise<boolean> {
  return (await listKeys(target.s3, target.bucket, uploadKey)).includes(uploadKey);
}

/** An image and its result as read back: pending (undefined), unreadable, or a result document. */
export type ShownResult = { readonly uploadKey: string; readonly result: ReadBack };

export function isFailure(entry: ShownResult): boolean {
  return entry.result !== undefined && ('unreadable' in entry.result || entry.result.status === 'error');
}

export async function showOne(target: Target, argument: string, options: ResultsOptions): Promise<ShownResult[]> {
  const uploadKey = uploadKeyFromArgument(argument, target);
  const resultKey = resultKeyFor(uploadKey, target.layout);
  const neverUploaded = () =>
    new CliError(`${uploadKey} was never uploaded to ${target.bucket}; upload it with \`alexnet-pipeline upload\``, {
      exitCode: EXIT.notReady,
    });
  const deadline = Date.now() + options.timeout * 1000;
  let result = await readResult(target.s3, target.bucket, resultKey);
  // Waiting for an image that is not there would only end in a timeout: say so at once.
  if (!result && options.wait && !(await isUploaded(target, uploadKey))) throw neverUploaded();
  while (!result && options.wait) {
    if (Date.now() > deadline)
      throw new CliError(
        `timed out after ${options.timeout} s waiting for ${resultKey}: the upload is there, its result is not (see \`alexnet-pipeline status\`)`,
        { exitCode: EXIT.notReady },
      );
    await sleep(500);
    result = await readResult(target.s3, target.bucket, resultKey);
  }
  if (!result) {
    if (!(await isUploaded(target, uploadKey))) throw neverUploaded();
    throw new CliError(`no result yet for ${uploadKey}: it is queued or being processed; add --wait to wait for it`, {
      exitCode: EXIT.notReady,
    });
  }
  const shown = [{ uploadKey, result }];
  print(shown, options.format, true);
  return shown;
}

export async function showPrefix(
  target: Target,
  prefix: string,
  options: ResultsOptions,
  logger: Logger,
): Promise<ShownResult[]> {
  const folder = uploadKeyFromArgument(prefix, target);
  const deadline = Date.now() + options.timeout * 1000;
  for (;;) {
    const uploads = (await listKeys(target.s3, target.bucket, folder)).filter(hasImageExtension);
    const resultsFolder = resultsPrefixFor(folder, target.layout);
    const resultKeys = new Map(
      (await listObjects(target.s3, target.bucket, resultsFolder)).map((object) => [object.key, object.etag]),
    );
    await addLongKeyResults(target.s3, target.bucket, target.layout, resultsFolder, uploads, resultKeys);
    const pending = uploads.filter((key) => !resultKeys.has(resultKeyFor(key, target.layout)));
    if (!options.wait || pending.length === 0) {
      if (uploads.length === 0)
        throw new CliError(`no images under ${folder} in ${target.bucket}`, { exitCode: EXIT.notReady });
      const entries = await Promise.all(
        uploads.map(async (uploadKey) => ({
          uploadKey,
          result: await readBack(target, resultKey(uploadKey), resultKeys),
        })),
      );
      print(entries, options.format, false);
      if (pending.length > 0)
        throw new CliError(
          `${pending.length} of ${uploads.length} images have no result yet; add --wait to wait for them`,
          { exitCode: EXIT.notReady },
        );
      return entries;
    }
    if (Date.now() > deadline)
      throw new CliError(
        `timed out after ${options.timeout} s with ${pending.length} of ${uploads.length} results missing under ${folder}`,
        { exitCode: EXIT.notReady },
      );
    logger.debug({ pending: pending.length, total: uploads.length }, 'waiting for results');
    await sleep(1000);
  }

  function resultKey(uploadKey: string): string {
    return resultKeyFor(uploadKey, target.layout);
  }
}

/** A listed result read back; one that is not a result document becomes an `unreadable` row, not a failure of the listing. */
async function readBack(target: Target, resultKey: string, listed: ReadonlyMap<string, string>): Promise<ReadBack> {
  if (!listed.has(resultKey)) return undefined;
  try {
    return await readResult(target.s3, target.bucket, resultKey);
  } catch (error) {
    if (error instanceof UnreadableResultError) return { unreadable: error.problem };
    throw error;
  }
}

function print(entries: readonly ShownResult[], format: ResultsOptions['format'], single: boolean): void {
  if (format === 'json') {
    const documents = entries.map((entry) =>
      !entry.result
        ? { source: { key: entry.uploadKey }, status: 'pending' }
        : 'unreadable' in entry.result
          ? { source: { key: entry.uploadKey }, status: 'unreadable', problem: entry.result.unreadable }
          : entry.result,
    );
    process.stdout.write(`${JSON.stringify(single ? documents[0] : documents, null, 2)}\n`);
    return;
  }
  const rows = entries.map((entry) => resultRow(entry.uploadKey, entry.result));
  process.stdout.write(`${format === 'csv' ? formatCsv(rows) : formatTable(rows)}\n`);
  const untrained = entries.some(
    (entry) => entry.result && !('unreadable' in entry.result) && !entry.result.model.pretrained,
  );
  if (format === 'table' && untrained) process.stdout.write(`${UNTRAINED_NOTICE}\n`);
}
