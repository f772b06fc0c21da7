import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { checkFileSize, ImageError } from '../model/index.js';
import {
  BucketNotFoundError,
  isNoSuchBucketError,
  isNotFoundError,
  isConflictError,
  isPreconditionFailedError,
  SourceObjectMissingError,
  SourceSupersededError,
  TransientAwsError,
} from './errors.js';
import { normalizeEtag, RESULT_METADATA, type ResultDocument } from './result-document.js';
import { readBodyWithinLimit, type ResponseBody } from './read-body-within-limit.js';
import { readResultObject } from './s3-operations.js';
import { listedKey } from './s3-event.js';

/** What a stored result was computed from: it is reused only for the same source ETag and fingerprint. */
export interface StoredResultTag {
  readonly sourceEtag: string;
  readonly fingerprint: string;
  /** The sequencer of the event it answered, if that event had one: it orders results for one key. */
  readonly sourceSequencer?: string;
  /** The result object's own ETag: the `If-Match` of a write that replaces it. */
  readonly resultEtag: string;
}

/** The precondition of a result write: that no result exists yet, or that it is still the one read. */
export type WriteCondition = { readonly ifNoneExists: true } | { readonly ifMatch: string };

/** Options of {@link ObjectStore.download}. */
export interface DownloadOptions {
  /** The ETag the event names: a different object (overwritten since) is not downloaded. */
  readonly etag: string;
  /** Larger objects are refused before their body is read. */
  readonly maxBytes: number;
  /**
   * Called with the object's size before its body is read (to reserve memory for it); with the
   * limit when the response states no size.
   */
  readonly beforeBody?: (contentLength: number) => Promise<void>;
  /** Called with the object's user metadata (`upload --job`'s job id), before its size is checked. */
  readonly onMetadata?: (metadata: Readonly<Record<string, string>>) => void;
}

/** Keys per ListObjectsV2 page: S3's maximum. */
export const LIST_PAGE_SIZE = 1000;

/**
 * The worker's S3 calls with its error policy: a missing upload is permanent, an overwritten one
 * is superseded, an oversized one is an image error, a missing bucket is a configuration error,
 * and everything else (network, throttling, 5xx, access) is transient, so the message goes back
 * to the queue and ends in the DLQ if it keeps failing.
 */
export class ObjectStore {
  constructor(private readonly s3: S3Client) {}

  /**
   * Downloads the upload an event names — that version only (`If-Match` its ETag), so a result
   * never describes other bytes than the event's — refusing one larger than `maxBytes` before
   * reading its body.
   */
  async download(bucket: string, key: string, options: DownloadOptions): Promise<Uint8Array> {
    try {
      const response = await this.s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: `"${options.etag}"` }),
      );
      const body = response.Body as ResponseBody | undefined;
      try {
        options.onMetadata?.(response.Metadata ?? {});
        checkFileSize(response.ContentLength ?? 0, options.maxBytes, { bucket, key });
        // A response that states no length (chunked) may carry up to the limit: reserve for that.
        await options.beforeBody?.(response.ContentLength ?? options.maxBytes);
      } catch (error) {
        body?.destroy?.();
        throw error;
      }
      if (!body) throw new TransientAwsError('GetObject', { bucket, key }, 'the response has no body');
      return await readBodyWithinLimit(body, options.maxBytes, { bucket, key });
    } catch (error) {
      if (error instanceof ImageError) throw error;
      if (isPreconditionFailedError(error)) throw new SourceSupersededError(bucket, key, options.etag, error);
      throw this.classified(error, 'GetObject', bucket, key, () => new SourceObjectMissingError(bucket, key, error));
    }
  }

  /** An object's user metadata (that version: `If-Match` its ETag); undefined when it is gone or replaced. */
  async metadata(bucket: string, key: string, etag: string): Promise<Readonly<Record<string, string>> | undefined> {
    try {
      const head = await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, IfMatch: `"${etag}"` }));
      return head.Metadata ?? {};
    } catch (error) {
      if (isNotFoundError(error) || isPreconditionFailedError(error)) return undefined;
      throw this.classified(error, 'HeadObject', bucket, key);
    }
  }

  /** A missing bucket, a missing object (when the caller has a meaning for it), or a transient failure. */
  private classified(
    error: unknown,
    operation: string,
    bucket: string,
    key: string | undefined,
    onNotFound?: () => Error,
  ): Error {
    if (isNoSuchBucketError(error)) return new BucketNotFoundError(bucket, error);
    if (onNotFound && isNotFoundError(error)) return onNotFound();
    return new TransientAwsError(operation, { bucket, key }, error);
  }

  /**
   * The tags of the stored results among `resultKeys` (undefined where there is none), with one
   * ListObjectsV2 page for the lot instead of a HEAD each: the page starts just before the first
   * key and is limited to the keys' common prefix. Keys the page shows get a HEAD for their tags
   * (a duplicate is the exception); keys a truncated page may not have reached get one too, so a
   * busy results folder costs requests, never a wrong answer. A single key gets a HEAD.
   */
  async existingResults(
    bucket: string,
    resultKeys: readonly string[],
    pageSize = LIST_PAGE_SIZE,
  ): Promise<Map<string, StoredResultTag | undefined>> {
    const wanted = [...new Set(resultKeys)].sort(compareUtf8);
    const tags = new Map<string, StoredResultTag | undefined>();
    let listed = new Set<string>();
    let complete = false;
    if (wanted.length > 1) {
      const prefix = commonPrefix(wanted[0]!, wanted.at(-1)!);
      try {
        const page = await this.s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            StartAfter: withoutLastCodePoint(wanted[0]!),
            MaxKeys: pageSize,
            EncodingType: 'url',
          }),
        );
        listed = new Set((page.Contents ?? []).map((object) => listedKey(object.Key ?? '', page.EncodingType)));
        complete = page.IsTruncated !== true;
      } catch (error) {
        throw this.classified(error, 'ListObjectsV2', bucket, prefix);
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
      const sequencer = head.Metadata?.[RESULT_METADATA.sourceSequencer];
      return {
        sourceEtag: normalizeEtag(head.Metadata?.[RESULT_METADATA.sourceEtag]),
        fingerprint: head.Metadata?.[RESULT_METADATA.fingerprint] ?? '',
        ...(sequencer ? { sourceSequencer: sequencer } : {}),
        resultEtag: normalizeEtag(head.ETag),
      };
    } catch (error) {
      if (isNotFoundError(error)) return undefined;
      throw this.classified(error, 'HeadObject', bucket, resultKey);
    }
  }

  /** A stored result read back, or undefined when there is none or it is not a result document. */
  async readResult(bucket: string, resultKey: string): Promise<ResultDocument | undefined> {
    let parsed: Awaited<ReturnType<typeof readResultObject>>;
    try {
      parsed = await readResultObject(this.s3, bucket, resultKey);
    } catch (error) {
      throw this.classified(error, 'GetObject', bucket, resultKey);
    }
    return parsed && 'document' in parsed ? parsed.document : undefined;
  }

  /** The ETag an object has now, or undefined when it is gone (one HEAD). */
  async currentEtag(bucket: string, key: string): Promise<string | undefined> {
    try {
      return normalizeEtag((await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag);
    } catch (error) {
      if (isNotFoundError(error)) return undefined;
      throw this.classified(error, 'HeadObject', bucket, key);
    }
  }

  /**
   * Stores a result JSON, tagged with what makes it reusable and ordered (source ETag, fingerprint,
   * the event's sequencer), if `condition` still holds when S3 writes it: S3 compares and writes in
   * one step. False when it does not hold (412, or 409 for a conflicting write under way, or 404
   * for an `If-Match` on a result deleted since): the caller reads again and decides again.
   */
  async writeResult(
    bucket: string,
    resultKey: string,
    document: ResultDocument,
    condition: WriteCondition,
    sequencer?: string,
  ): Promise<boolean> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: resultKey,
          Body: JSON.stringify(document),
          ContentType: 'application/json',
          Metadata: {
            [RESULT_METADATA.sourceEtag]: normalizeEtag(document.source.etag),
            [RESULT_METADATA.fingerprint]: document.fingerprint,
            ...(sequencer ? { [RESULT_METADATA.sourceSequencer]: sequencer } : {}),
          },
          ...('ifMatch' in condition ? { IfMatch: `"${condition.ifMatch}"` } : { IfNoneMatch: '*' }),
        }),
      );
      return true;
    } catch (error) {
      if (
        isPreconditionFailedError(error) ||
        isConflictError(error) ||
        ('ifMatch' in condition && isNotFoundError(error))
      )
        return false;
      throw this.classified(error, 'PutObject', bucket, resultKey);
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
