import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isNotFoundError } from '../pipeline/errors.js';
import { hasLongKeyResult, LONG_KEY_RESULTS_FOLDER, type KeyLayout } from '../pipeline/object-keys.js';
import { normalizeEtag, type ResultDocument } from '../pipeline/result-document.js';
import { parseResultDocument } from '../pipeline/result-schema.js';
import { CliError } from './cli-error.js';
import { listedKey } from '../pipeline/s3-event.js';

/** An object as a listing shows it. */
export interface ListedObject {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified?: Date;
}

/** Every object below a prefix with its ETag and size (all pages), keys byte for byte. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, EncodingType: 'url' }));
    for (const object of page.Contents ?? []) {
      if (object.Key) objects.push({ key: listedKey(object.Key, page.EncodingType), etag: normalizeEtag(object.ETag), size: object.Size ?? 0, ...(object.LastModified ? { lastModified: object.LastModified } : {}) });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

/**
 * Adds to `resultEtags` (result key → ETag, as listed below `resultsFolder`) the results of those
 * `uploadKeys` whose keys are too long to mirror: they live in a folder of their own (see
 * `resultKeyFor`), listed only when one of the uploads needs it and it is not inside `resultsFolder`.
 */
export async function addLongKeyResults(s3: S3Client, bucket: string, layout: KeyLayout, resultsFolder: string, uploadKeys: readonly string[], resultEtags: Map<string, string>): Promise<void> {
  const longKeysFolder = `${layout.resultsPrefix}${LONG_KEY_RESULTS_FOLDER}`;
  if (longKeysFolder.startsWith(resultsFolder) || !uploadKeys.some((key) => hasLongKeyResult(key, layout))) return;
  for (const object of await listObjects(s3, bucket, longKeysFolder)) resultEtags.set(object.key, object.etag);
}

/** Every key below a prefix (all pages), byte for byte (listed URL-encoded, then decoded). */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  return (await listObjects(s3, bucket, prefix)).map((object) => object.key);
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

/** An object's text and ETag, or undefined when it does not exist. */
export async function readObjectText(s3: S3Client, bucket: string, key: string): Promise<{ text: string; etag: string } | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { text: await response.Body!.transformToString(), etag: normalizeEtag(response.ETag) };
  } catch (error) {
    if (isNotFoundError(error)) return undefined;
    throw error;
  }
}

/** A stored result, or undefined when it does not exist (yet); {@link UnreadableResultError} when it is not a result. */
export async function readResult(s3: S3Client, bucket: string, resultKey: string): Promise<ResultDocument | undefined> {
  const object = await readObjectText(s3, bucket, resultKey);
  if (!object) return undefined;
  const parsed = parseResultDocument(object.text);
  if ('problem' in parsed) throw new UnreadableResultError(resultKey, parsed.problem);
  return parsed.document;
}
