import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { hasImageExtension } from '../../model/image-formats.js';
import { resultKeyFor, resultsPrefixFor, uploadKeyFor } from '../../pipeline/object-keys.js';
import { explainAwsError } from '../aws-errors.js';
import { addLongKeyResults, listKeys, listObjects, readResult, UnreadableResultError } from '../bucket-reader.js';
import { CliError, EXIT } from '../cli-error.js';
import { integerInRange } from '../option-parsers.js';
import { formatCsv, formatTable, resultRow, UNTRAINED_NOTICE, type ReadBack } from '../result-format.js';
import { addTargetOptions, resolveTarget, type Target, type TargetOptions } from '../target.js';

const FORMATS = ['table', 'json', 'csv'] as const;

interface ResultsOptions extends TargetOptions {
  wait?: boolean;
  timeout: number;
  format: (typeof FORMATS)[number];
}

/** `results <key or prefix>`: one image's result JSON, or a summary of every result under a prefix. */
export function resultsCommand(logger: Logger): Command {
  const command = new Command('results')
    .description("show one image's result (a key such as uploads/cats/tabby.jpg) or a summary of every image under a prefix (e.g. cats/)")
    .argument('<key-or-prefix>', 'an image key (with or without the uploads/ prefix, or as s3://bucket/key), a result key, or a folder prefix')
    .addOption(new Option('--wait', 'poll until the results exist'))
    .addOption(new Option('--timeout <seconds>', 'give up waiting after this long').argParser(integerInRange(1, 86_400)).default(300))
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('table'));
  addTargetOptions(command).action(async (keyOrPrefix: string, options: ResultsOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const argument = keyInTargetBucket(keyOrPrefix, target);
    try {
      const shown = hasImageExtension(argument) || argument.endsWith('.json') ? await showOne(target, argument, options) : await showPrefix(target, argument, options, logger);
      // As `local` and `classify` do: 2 when some images could not be classified (an error result, or one unreadable).
      process.exitCode = shown.some(isFailure) ? EXIT.someFailed : EXIT.ok;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw explainAwsError(error, { bucket: target.bucket, endpoint: target.endpoint, profile: target.profile });
    }
  });
  return command;
}

/** `s3://<bucket>/<key>` (the form `upload` prints) as a key of the target's bucket; anything else as given. */
export function keyInTargetBucket(argument: string, target: Target): string {
  const uri = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(argument);
  if (!uri) return argument;
  if (uri[1] !== target.bucket) throw new CliError(`${argument} names bucket ${uri[1]}, but the pipeline's bucket is ${target.bucket}`);
  return uri[2]!;
}

/** The upload key an argument names: a result key, an upload key, or a path below the uploads prefix. */
export function uploadKeyFromArgument(argument: string, target: Target): string {
  const { uploadsPrefix, resultsPrefix } = target.layout;
  if (argument.startsWith(resultsPrefix) && argument.endsWith('.json')) {
    try {
      return uploadKeyFor(argument, target.layout);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
  if (argument.startsWith(uploadsPrefix)) return argument;
  return uploadsPrefix + argument.replace(/^\/+/, '');
}

async function isUploaded(target: Target, uploadKey: string): Promise<boolean> {
  return (await listKeys(target.s3, target.bucket, uploadKey)).includes(uploadKey);
}

/** An image and its result as read back: pending (undefined), unreadable, or a result document. */
type ShownResult = { readonly uploadKey: string; readonly result: ReadBack };

function isFailure(entry: ShownResult): boolean {
  return entry.result !== undefined && ('unreadable' in entry.result || entry.result.status === 'error');
}

async function showOne(target: Target, argument: string, options: ResultsOptions): Promise<ShownResult[]> {
  const uploadKey = uploadKeyFromArgument(argument, target);
  const resultKey = resultKeyFor(uploadKey, target.layout);
  const neverUploaded = () => new CliError(`${uploadKey} was never uploaded to ${target.bucket}; upload it with \`alexnet-pipeline upload\``, { exitCode: EXIT.notReady });
  const deadline = Date.now() + options.timeout * 1000;
  let result = await readResult(target.s3, target.bucket, resultKey);
  // Waiting for an image that is not there would only end in a timeout: say so at once.
  if (!result && options.wait && !(await isUploaded(target, uploadKey))) throw neverUploaded();
  while (!result && options.wait) {
    if (Date.now() > deadline) throw new CliError(`timed out after ${options.timeout} s waiting for ${resultKey}: the upload is there, its result is not (see \`alexnet-pipeline status\`)`, { exitCode: EXIT.notReady });
    await sleep(500);
    result = await readResult(target.s3, target.bucket, resultKey);
  }
  if (!result) {
    if (!(await isUploaded(target, uploadKey))) throw neverUploaded();
    throw new CliError(`no result yet for ${uploadKey}: it is queued or being processed; add --wait to wait for it`, { exitCode: EXIT.notReady });
  }
  const shown = [{ uploadKey, result }];
  print(shown, options.format, true);
  return shown;
}

async function showPrefix(target: Target, prefix: string, options: ResultsOptions, logger: Logger): Promise<ShownResult[]> {
  const folder = uploadKeyFromArgument(prefix, target);
  const deadline = Date.now() + options.timeout * 1000;
  for (;;) {
    const uploads = (await listKeys(target.s3, target.bucket, folder)).filter(hasImageExtension);
    const resultsFolder = resultsPrefixFor(folder, target.layout);
    const resultKeys = new Map((await listObjects(target.s3, target.bucket, resultsFolder)).map((object) => [object.key, object.etag]));
    await addLongKeyResults(target.s3, target.bucket, target.layout, resultsFolder, uploads, resultKeys);
    const pending = uploads.filter((key) => !resultKeys.has(resultKeyFor(key, target.layout)));
    if (!options.wait || pending.length === 0) {
      if (uploads.length === 0) throw new CliError(`no images under ${folder} in ${target.bucket}`, { exitCode: EXIT.notReady });
      const entries = await Promise.all(uploads.map(async (uploadKey) => ({ uploadKey, result: await readBack(target, resultKey(uploadKey), resultKeys) })));
      print(entries, options.format, false);
      if (pending.length > 0) throw new CliError(`${pending.length} of ${uploads.length} images have no result yet; add --wait to wait for them`, { exitCode: EXIT.notReady });
      return entries;
    }
    if (Date.now() > deadline) throw new CliError(`timed out after ${options.timeout} s with ${pending.length} of ${uploads.length} results missing under ${folder}`, { exitCode: EXIT.notReady });
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
      !entry.result ? { source: { key: entry.uploadKey }, status: 'pending' } : 'unreadable' in entry.result ? { source: { key: entry.uploadKey }, status: 'unreadable', problem: entry.result.unreadable } : entry.result,
    );
    process.stdout.write(`${JSON.stringify(single ? documents[0] : documents, null, 2)}\n`);
    return;
  }
  const rows = entries.map((entry) => resultRow(entry.uploadKey, entry.result));
  process.stdout.write(`${format === 'csv' ? formatCsv(rows) : formatTable(rows)}\n`);
  const untrained = entries.some((entry) => entry.result && !('unreadable' in entry.result) && !entry.result.model.pretrained);
  if (format === 'table' && untrained) process.stdout.write(`${UNTRAINED_NOTICE}\n`);
}
