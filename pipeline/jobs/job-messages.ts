import { encodeS3EventKey } from '../s3-event.js';

/** One image of a job, as listed (and as a manifest line holds it). */
export interface ListedImage {
  readonly bucket: string;
  readonly key: string;
  /** Unquoted. */
  readonly etag: string;
  readonly size: number;
  /** ISO 8601, as the listing gave it. */
  readonly lastModified: string;
}

/**
 * Images per queue message that `submit` sends. Ten, because:
 * - a message's images share one visibility timeout and one lease; a worker holds at most
 *   `MAX_IMAGES_IN_FLIGHT` images, so a message of ten is worked on at once, not a queue of its own;
 * - a retried message redoes its images (those already stored are recognised as duplicates
 *   and not recomputed), so a failure costs at most ten images' work;
 * - a record is at most about 3.3 KB (a 1,024-byte key, URL-encoded), so ten stay far below SQS's
 *   256 KiB message size, and the worker's memory per message stays what it is for S3's own events;
 * - with SendMessageBatch's ten messages per request, 100 images per SQS request: 10,000 requests
 *   (about $0.004 at $0.40 per million) for a million images, instead of 100,000.
 */
export const IMAGES_PER_MESSAGE = 10;

/**
 * The user metadata (`x-amz-meta-alexnet-job-id`) that makes an upload part of a job
 * (`upload --job`): S3's notification does not carry metadata, so the worker reads it from the
 * object it downloads (or HEADs, for a result already stored) and counts the image in that job.
 */
export const JOB_ID_METADATA = 'alexnet-job-id';

/** Messages per SendMessageBatch request: SQS's maximum. */
export const MESSAGES_PER_BATCH = 10;

/** Marks the records `submit` sends, for readers of the queue (the worker keys on `alexnetPipeline.jobId`). */
export const SUBMIT_EVENT_SOURCE = 'alexnet-pipeline:submit';

/**
 * A queue message body for images of a job, shaped like an S3 event notification so the worker
 * has one path: `Records[]` with `eventName` `ObjectCreated:Submitted`, the bucket, the key
 * URL-encoded as S3 encodes it, the size and the ETag the listing gave — and the job id. There is
 * no `sequencer` (S3 gives one to events only): a result for an older version of the image is
 * still never stored over a newer one, because the worker downloads exactly the listed ETag
 * (`If-Match`) and, without sequencers on both sides, takes the object's current ETag as the
 * judge of which version is newest (ordered-result-write.ts).
 */
export function jobMessageBody(jobId: string, images: readonly ListedImage[], region: string): string {
  return JSON.stringify({
    Records: images.map((image) => ({
      eventVersion: '2.1',
      eventSource: SUBMIT_EVENT_SOURCE,
      awsRegion: region,
      eventTime: image.lastModified,
      eventName: 'ObjectCreated:Submitted',
      s3: {
        s3SchemaVersion: '1.0',
        bucket: { name: image.bucket, arn: `arn:aws:s3:::${image.bucket}` },
        object: { key: encodeS3EventKey(image.key), size: image.size, eTag: image.etag },
      },
      alexnetPipeline: { jobId },
    })),
  });
}
