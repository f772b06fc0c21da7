import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ImageError } from '../../model/index.js';
import { isNotFoundError, SourceObjectMissingError, TransientAwsError } from './errors.js';
import { normalizeEtag, RESULT_METADATA, type ResultDocument } from './result-document.js';

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
      const size = response.ContentLength ?? 0;
      if (size > maxBytes) {
        (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new ImageError('FILE_TOO_LARGE', `the object has ${size} bytes, more than the limit of ${maxBytes}`, { context: { bucket, key } });
      }
      if (!response.Body) throw new Error('GetObject returned no body');
      return await response.Body.transformToByteArray();
    } catch (error) {
      if (error instanceof ImageError) throw error;
      if (isNotFoundError(error)) throw new SourceObjectMissingError(bucket, key, error);
      throw new TransientAwsError('GetObject', { bucket, key }, error);
    }
  }

  /** The stored result's source ETag and model SHA-256, or undefined when there is none. */
  async existingResult(bucket: string, resultKey: string): Promise<{ sourceEtag: string; modelSha256: string } | undefined> {
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
