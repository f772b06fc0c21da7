import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isNotFoundError } from '../pipeline/errors.js';
import type { ResultDocument } from '../pipeline/result-document.js';

/** Every key below a prefix (all pages). */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** A stored result, or undefined when it does not exist (yet). */
export async function readResult(s3: S3Client, bucket: string, resultKey: string): Promise<ResultDocument | undefined> {
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: resultKey }));
    return JSON.parse(await response.Body!.transformToString()) as ResultDocument;
  } catch (error) {
    if (isNotFoundError(error)) return undefined;
    throw error;
  }
}
