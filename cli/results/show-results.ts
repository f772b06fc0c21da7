import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../common/logger.js';
import { hasImageExtension } from '../../model/image-formats.js';
import { addLongKeyResults, readResult, UnreadableResultError } from './bucket-reader.js';
import { listKeys, listObjects } from '../../pipeline/s3-operations.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { formatCsv, formatTable, resultRow, UNTRAINED_NOTICE, type ReadBack } from './result-format.js';
import { type Target, type TargetOptions } from '../target/target.js';
import { describeImage, imageFromArgument, resultKeyOfImage, resultsFolderOf } from './object-arguments.js';
import type { ObjectLocation } from '../../pipeline/result-location.js';

export const FORMATS = ['table', 'json', 'csv'] as const;

export interface ResultsOptions extends TargetOptions {
  wait?: boolean;
  timeout: number;
  format: (typeof FORMATS)[number];
}

async function isUploaded(target: Target, image: ObjectLocation): Promise<boolean> {
  return (await listKeys(target.s3, image.bucket, image.key)).includes(image.key);
}

/**
 * An image and its result as read back: pending (undefined), unreadable, or a result document.
 * `uploadKey` is the image as shown: its key in the pipeline's bucket, `s3://bucket/key` elsewhere.
 */
export type ShownResult = { readonly uploadKey: string; readonly result: ReadBack };

export function isFailure(entry: ShownResult): boolean {
  return entry.result !== undefined && ('unreadable' in entry.result || entry.result.status === 'error');
}

export async function showOne(target: Target, argument: string, options: ResultsOptions): Promise<ShownResult[]> {
  const image = imageFromArgument(argument, target);
  const uploadKey = describeImage(image, target);
  const resultKey = resultKeyOfImage(image, target);
  const neverUploaded = () =>
    new CliError(
      image.bucket === target.bucket
        ? `${uploadKey} was never uploaded to ${target.bucket}; upload it with \`alexnet-pipeline upload\``
        : `${uploadKey} does not exist`,
      { exitCode: EXIT.notReady },
    );
  const deadline = Date.now() + options.timeout * 1000;
  let result = await readResult(target.s3, target.bucket, resultKey);
  // Waiting for an image that is not there would only end in a timeout: say so at once.
  if (!result && options.wait && !(await isUploaded(target, image))) throw neverUploaded();
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
    if (!(await isUploaded(target, image))) throw neverUploaded();
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
  const folder = imageFromArgument(prefix, target);
  const where = describeImage(folder, target);
  const deadline = Date.now() + options.timeout * 1000;
  const resultsFolder = resultsFolderOf(folder, target);
  for (;;) {
    const images = (await listKeys(target.s3, folder.bucket, folder.key))
      .filter(hasImageExtension)
      .map((key) => ({ bucket: folder.bucket, key }));
    const wanted = new Map(images.map((image) => [describeImage(image, target), resultKeyOfImage(image, target)]));
    const uploads = [...wanted.keys()];
    const resultKeys = new Map(
      (await listObjects(target.s3, target.bucket, resultsFolder)).map((object) => [object.key, object.etag]),
    );
    await addLongKeyResults(target.s3, target.bucket, target.layout, resultsFolder, [...wanted.values()], resultKeys);
    const pending = uploads.filter((key) => !resultKeys.has(wanted.get(key)!));
    if (!options.wait || pending.length === 0) {
      if (uploads.length === 0)
        throw new CliError(
          folder.bucket === target.bucket
            ? `no images under ${folder.key} in ${target.bucket}`
            : `no images under ${where}`,
          { exitCode: EXIT.notReady },
        );
      const entries = await Promise.all(
        uploads.map(async (uploadKey) => ({
          uploadKey,
          result: await readBack(target, wanted.get(uploadKey)!, resultKeys),
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
        `timed out after ${options.timeout} s with ${pending.length} of ${uploads.length} results missing under ${where}`,
        { exitCode: EXIT.notReady },
      );
    logger.debug({ pending: pending.length, total: uploads.length }, 'waiting for results');
    await sleep(1000);
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
