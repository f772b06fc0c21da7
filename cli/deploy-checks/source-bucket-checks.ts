import { HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { PipelineParameters } from '../../pipeline/deploy-parameters.js';
import type { CheckResult } from './deploy-checks.js';

/** An S3 error's HTTP status, if it has one. */
function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The KMS key ARN an object is encrypted with, if S3 says it is (SSE-KMS or DSSE-KMS). */
function kmsKeyOf(head: { ServerSideEncryption?: string; SSEKMSKeyId?: string }): string | undefined {
  return head.ServerSideEncryption?.startsWith('aws:kms') ? head.SSEKMSKeyId : undefined;
}

/**
 * One line per bucket of `-c sourceBuckets`: that it exists, that these credentials can list it
 * (`submit` lists with them) and read an object of it, where it is (another region is slower and
 * costs data transfer), and that a KMS key its objects are encrypted with is among
 * `-c sourceBucketKeys`. What the task role may read cannot be tested before it exists: the stack
 * grants it, but a bucket policy of another account must also allow it, which the detail says.
 */
export async function checkSourceBuckets(
  s3: S3Client,
  parameters: PipelineParameters,
  region: string,
): Promise<CheckResult[]> {
  return Promise.all(parameters.sourceBuckets.map((bucket) => checkSourceBucket(s3, bucket, parameters, region)));
}

async function checkSourceBucket(
  s3: S3Client,
  bucket: string,
  parameters: PipelineParameters,
  region: string,
): Promise<CheckResult> {
  const name = `source bucket ${bucket}`;
  const fail = (detail: string): CheckResult => ({ name, status: 'fail', detail });
  let bucketRegion: string | undefined;
  try {
    bucketRegion = (await s3.send(new HeadBucketCommand({ Bucket: bucket }))).BucketRegion;
  } catch (error) {
    const status = statusOf(error);
    if (status === 404) return fail(`there is no bucket ${bucket}: correct -c sourceBuckets`);
    if (status === 403)
      return fail(
        `these credentials may not read bucket ${bucket} (s3:ListBucket): \`submit\` lists it with them; ask its owner for s3:ListBucket and s3:GetObject`,
      );
    if (status === 301) bucketRegion = (error as { BucketRegion?: string }).BucketRegion ?? 'another region';
    else return { name, status: 'warn', detail: `cannot tell (${(error as Error).name}: ${(error as Error).message})` };
  }
  let listed;
  try {
    listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }));
  } catch (error) {
    if (statusOf(error) === 403) return fail(`these credentials may not list bucket ${bucket} (s3:ListBucket)`);
    return { name, status: 'warn', detail: `cannot list it (${(error as Error).name})` };
  }
  const first = listed.Contents?.[0]?.Key;
  const where =
    bucketRegion && bucketRegion !== region
      ? `in ${bucketRegion}, not ${region}: the workers read it across regions (slower; data transfer is charged)`
      : `in ${region}`;
  if (first === undefined) return { name, status: 'warn', detail: `empty, ${where}` };
  let head;
  try {
    head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: first }));
  } catch (error) {
    if (statusOf(error) === 403)
      return fail(`these credentials may list bucket ${bucket} but not read ${first} (s3:GetObject, or its KMS key)`);
    return { name, status: 'warn', detail: `cannot read ${first} (${(error as Error).name})` };
  }
  const key = kmsKeyOf(head);
  if (key && !parameters.sourceBucketKeys.some((given) => given === key || given.endsWith(`/${key}`)))
    return fail(
      `its objects are encrypted with KMS key ${key}: add -c sourceBucketKeys=${key} so that the workers may decrypt them`,
    );
  return {
    name,
    status: bucketRegion && bucketRegion !== region ? 'warn' : 'ok',
    detail: `readable with these credentials, ${where}${key ? `, KMS key given` : ''}; the task role gets s3:GetObject at deploy (a bucket policy of another account must allow it too)`,
  };
}
