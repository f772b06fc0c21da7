import {
  GetObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isNotFoundError } from './errors.js';
import { normalizeEtag, type ResultDocument } from './result-document.js';
import { parseResultDocument } from './result-schema.js';
import { listedKey } from './s3-event.js';

/**
 * S3 reads every part of the project shares (the worker, the CLI, the gallery, the fault suite),
 * without policy: errors other than "not found" reach the caller as the SDK threw them, and each
 * caller decides what they mean.
 */

/** An object as a listing shows it. */
export interface ListedObject {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
  readonly lastModified?: Date;
}

/**
 * The objects below a prefix a page (up to 1,000) at a time, with their ETag, size and last
 * modified, keys byte for byte (listed URL-encoded, then decoded); only one page in memory. With
 * `delimiter` ("/"), the objects directly below the prefix, and its folders in `folders`.
 */
export async function* listObjectPages(
  s3: S3Client,
  bucket: string,
  prefix: string,
  delimiter?: string,
  maxKeys = 1000,
): AsyncGenerator<{ readonly objects: ListedObject[]; readonly folders: string[]; readonly truncated: boolean }> {
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: token,
        EncodingType: 'url',
        MaxKeys: maxKeys,
        ...(delimiter ? { Delimiter: delimiter } : {}),
      }),
    );
    const objects = listedObjectsOf(page);
    const folders = (page.CommonPrefixes ?? []).flatMap((folder) =>
      folder.Prefix ? [listedKey(folder.Prefix, page.EncodingType)] : [],
    );
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    yield { objects, folders, truncated: token !== undefined };
  } while (token);
}

/**
 * One page of the objects below a prefix whose keys come after `startAfter` in S3's order (a
 * listing may begin anywhere, which a continuation token cannot), keys byte for byte.
 */
export async function listPageAfter(
  s3: S3Client,
  bucket: string,
  prefix: string,
  startAfter: string | undefined,
  maxKeys = 1000,
): Promise<{ readonly objects: ListedObject[]; readonly truncated: boolean }> {
  const page = await s3.send(
    new ListObjectsV2Command({
      Bucket: bucket,
      Prefix: prefix,
      EncodingType: 'url',
      MaxKeys: maxKeys,
      ...(startAfter ? { StartAfter: startAfter } : {}),
    }),
  );
  return { objects: listedObjectsOf(page), truncated: page.IsTruncated === true };
}

/** Every object below a prefix with its ETag and size (all pages). */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  for await (const page of listObjectPages(s3, bucket, prefix)) objects.push(...page.objects);
  return objects;
}

/** Every key below a prefix (all pages), byte for byte. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  return (await listObjects(s3, bucket, prefix)).map((object) => object.key);
}

/** An object's text and ETag, or undefined when it does not exist. */
export async function readObjectText(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<{ text: string; etag: string } | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { text: await response.Body!.transformToString(), etag: normalizeEtag(response.ETag) };
  } catch (error) {
    if (isNotFoundError(error)) return undefined;
    throw error;
  }
}

/** A stored result object read and checked: its document, or the problem that makes it no result; undefined when there is none. */
export async function readResultObject(
  s3: S3Client,
  bucket: string,
  resultKey: string,
): Promise<{ document: ResultDocument } | { problem: string } | undefined> {
  const object = await readObjectText(s3, bucket, resultKey);
  return object ? parseResultDocument(object.text) : undefined;
}

/** The objects of a ListObjectsV2 answer, keys decoded. */
function listedObjectsOf(page: ListObjectsV2CommandOutput): ListedObject[] {
  const objects: ListedObject[] = [];
  for (const object of page.Contents ?? []) {
    if (object.Key)
      objects.push({
        key: listedKey(object.Key, page.EncodingType),
        etag: normalizeEtag(object.ETag),
        size: object.Size ?? 0,
        ...(object.LastModified ? { lastModified: object.LastModified } : {}),
      });
  }
  return objects;
}
