import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { checkFileSize, ImageError } from '../../model/index.js';
import { isNotFoundError, SourceObjectMissingError, TransientAwsError } from '../../pipeline/errors.js';
import { normalizeEtag, RESULT_METADATA, type ResultDocument } from '../../pipeline/result-document.js';

/** What a stored result was computed from: it is reused only for the same source ETag and model. */
export interface StoredResultTag {
  readonly sourceEtag: string;
  readonly modelSha256: string;
}

/** Keys per ListObjectsV2 page: S3's maximum. */
export const LIST_PAGE_SIZE = 1000;

/**
 * The worker's S3 calls with its error policy: a missing upload is permanent, an oversized one is
 * an image error, and everything else (network, throttling, 5xx, access) is transient, so the
 * message goes back to the queue and ends in the DLQ if it keeps failing.
 */
export class ObjectStore {
  constructor(private readonly s3: S3Client) {}

  /** Downloads an upload, refusing one larger than `maxBytes` before reading its body. */
  async download(bucket: string, key: string, maxBytes: number): Promise<Uint8Array> {
    try {
      const response = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      try {
        checkFileSize(response.ContentLength ?? 0, maxBytes, { bucket, key });
      } catch (error) {
        (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw error;
      }
      if (!response.Body) throw new Error('GetObject returned no body');
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof ImageError) throw error;
      if (isNotFoundError(error)) throw new SourceObjectMissingError(bucket, key, error);
      throw new TransientAwsError('GetObject', { bucket, key }, error);
    }
  }

  /**
   * The tags of the stored results among `resultKeys` (undefined where there is none), with one
   * ListObjectsV2 page for the lot instead of a HEAD each: the page starts just before the first
   * key and is limited to the keys' common prefix. Keys the page shows get a HEAD for their tags
   * (a duplicate is the exception); keys a truncated page may not have reached get one too, so a
   * busy results folder costs requests, never a wrong answer. A single key gets a HEAD.
   */
  async existingResults(bucket: string, resultKeys: readonly string[], pageSize = LIST_PAGE_SIZE): Promise<Map<string, StoredResultTag | undefined>> {
    const wanted = [...new Set(resultKeys)].sort(compareUtf8);
    const tags = new Map<string, StoredResultTag | undefined>();
    let listed = new Set<string>();
    let complete = false;
    if (wanted.length > 1) {
      const prefix = commonPrefix(wanted[0]!, wanted.at(-1)!);
      try {
        const page = await this.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, StartAfter: withoutLastCodePoint(wanted[0]!), MaxKeys: pageSize }));
        listed = new Set((page.Contents ?? []).map((object) => object.Key ?? ''));
        complete = page.IsTruncated !== true;
      } catch (error) {
        throw new TransientAwsError('ListObjectsV2', { bucket, prefix }, error);
      }
    }
    await Promise.all(
      wanted.map(async (key) => {
        tags.set(key, complete && !listed.has(key) ? undefined : await this.existingResult(bucket, key));
      }),
    );
    return tags;
  }

  /** The stored result's tags, or undefined when there is none (one HEAD). */
  async existingResult(bucket: string, resultKey: string): Promise<StoredResultTag | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: resultKey }));
      return {
        sourceEtag: normalizeEtag(head.Metadata?.[RESULT_METADATA.sourceEtag]),
        modelSha256: head.Metadata?.[RESULT_METADATA.modelSha256] ?? '',
      };
    } catch (error) {
      if (isNotFoundError(error)) return undefined;
      throw new TransientAwsError('HeadObject', { bucket, key: resultKey }, error);
    }
  }

  /** Stores a result JSON, tagged with what makes it reusable (source ETag, model SHA-256). */
  async writeResult(bucket: string, resultKey: string, document: ResultDocument): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: resultKey,
          Body: JSON.stringify(document),
          ContentType: 'application/json',
          Metadata: { [RESULT_METADATA.sourceEtag]: normalizeEtag(document.source.etag), [RESULT_METADATA.modelSha256]: document.model.sha256 },
        }),
      );
    } catch (error) {
      throw new TransientAwsError('PutObject', { bucket, key: resultKey }, error);
    }
  }
}

/** S3 lists keys in the byte order of their UTF-8 encoding. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The longest common prefix, whole code points only (a Prefix must be valid UTF-8). */
function commonPrefix(a: string, b: string): string {
  const left = Array.from(a);
  const right = Array.from(b);
  let length = 0;
  while (length < left.length && length < right.length && left[length] === right[length]) length++;
  return left.slice(0, length).join('');
}

/** A proper prefix sorts before the key: a StartAfter that keeps the key itself in the page. */
function withoutLastCodePoint(key: string): string {
  return Array.from(key).slice(0, -1).join('');
}
