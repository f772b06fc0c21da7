import type { S3Client } from '@aws-sdk/client-s3';
import { LONG_KEY_RESULTS_FOLDER, type KeyLayout } from '../../pipeline/object-keys.js';
import type { ResultDocument } from '../../pipeline/result-document.js';
import { listObjects, readResultObject } from '../../pipeline/s3-operations.js';
import { CliError } from '../support/cli-error.js';

/**
 * Adds to `resultEtags` (result key → ETag, as listed below `resultsFolder`) the results whose image
 * keys are too long to mirror: they live in a folder of their own (see `resultKeyFor`), listed only
 * when one of `wantedResultKeys` is there and it is not inside `resultsFolder`.
 */
export async function addLongKeyResults(
  s3: S3Client,
  bucket: string,
  layout: KeyLayout,
  resultsFolder: string,
  wantedResultKeys: readonly string[],
  resultEtags: Map<string, string>,
): Promise<void> {
  const longKeysFolder = `${layout.resultsPrefix}${LONG_KEY_RESULTS_FOLDER}`;
  if (longKeysFolder.startsWith(resultsFolder) || !wantedResultKeys.some((key) => key.startsWith(longKeysFolder)))
    return;
  for (const object of await listObjects(s3, bucket, longKeysFolder)) resultEtags.set(object.key, object.etag);
}

/** A result object that is there but is not a result document (corrupt, or written by someone else). */
export class UnreadableResultError extends CliError {
  constructor(
    readonly resultKey: string,
    readonly problem: string,
  ) {
    super(`${resultKey} is not a readable result: ${problem}`, { code: 'UNREADABLE_RESULT' });
  }
}

/** A stored result, or undefined when it does not exist (yet); {@link UnreadableResultError} when it is not a result. */
export async function readResult(s3: S3Client, bucket: string, resultKey: string): Promise<ResultDocument | undefined> {
  const parsed = await readResultObject(s3, bucket, resultKey);
  if (!parsed) return undefined;
  if ('problem' in parsed) throw new UnreadableResultError(resultKey, parsed.problem);
  return parsed.document;
}
