import { MessageFormatError } from './errors.js';
import { isJobId } from './jobs/job-table.js';

/** One object of an S3 event notification, with its key decoded. */
export interface S3ObjectRecord {
  readonly eventName: string;
  readonly bucket: string;
  /** The object key, decoded from the event's URL encoding. */
  readonly key: string;
  readonly size: number;
  readonly eTag: string;
  /**
   * S3's `sequencer`: orders the events of one key (see `compareSequencers`). Absent where S3 sends
   * none (a message that is not S3's own) or the value is not hexadecimal.
   */
  readonly sequencer?: string;
  /** The job a record belongs to: set on the records `submit` sends (see job-messages.ts), absent on S3's. */
  readonly jobId?: string;
}

/** What a queue message body turned out to be. */
export type ParsedS3Message =
  | { readonly kind: 'test-event'; readonly bucket: string }
  | { readonly kind: 'records'; readonly records: readonly S3ObjectRecord[] };

/**
 * Parses an SQS message body holding an S3 event notification exactly as AWS sends it: the
 * `s3:TestEvent` sent when notifications are configured, or `Records[]`. Records other than
 * `ObjectCreated:*` are dropped. A body that is neither throws {@link MessageFormatError}.
 */
export function parseS3Event(body: string | undefined, messageId?: string): ParsedS3Message {
  let document: unknown;
  try {
    document = JSON.parse(body ?? '');
  } catch (error) {
    throw new MessageFormatError('the message body is not JSON', { messageId }, error);
  }
  if (!isObject(document)) throw new MessageFormatError('the message body is not a JSON object', { messageId });
  if (document.Event === 's3:TestEvent') return { kind: 'test-event', bucket: String(document.Bucket ?? '') };
  if (!Array.isArray(document.Records))
    throw new MessageFormatError('the message body has no S3 event Records', { messageId });

  const records: S3ObjectRecord[] = [];
  for (const [index, record] of document.Records.entries()) {
    const s3 = isObject(record) && isObject(record.s3) ? record.s3 : undefined;
    const bucket = isObject(s3?.bucket) ? s3.bucket.name : undefined;
    const object = isObject(s3?.object) ? s3.object : undefined;
    const eventName = isObject(record) ? record.eventName : undefined;
    if (typeof eventName !== 'string' || typeof bucket !== 'string' || typeof object?.key !== 'string') {
      throw new MessageFormatError(`Records[${index}] is not an S3 event record`, { messageId });
    }
    if (!eventName.startsWith('ObjectCreated:')) continue;
    let key: string;
    try {
      key = decodeS3EventKey(object.key);
    } catch (error) {
      throw new MessageFormatError(
        `Records[${index}].s3.object.key is not URL-encoded as S3 encodes keys: ${JSON.stringify(object.key.slice(0, 200))}`,
        { messageId },
        error,
      );
    }
    records.push({
      eventName,
      bucket,
      key,
      size: typeof object.size === 'number' ? object.size : 0,
      eTag: typeof object.eTag === 'string' ? object.eTag : '',
      ...(typeof object.sequencer === 'string' && SEQUENCER.test(object.sequencer)
        ? { sequencer: object.sequencer.toUpperCase() }
        : {}),
      ...jobOf(record, index, messageId),
    });
  }
  return { kind: 'records', records };
}

/** The job id a `submit` record carries (`alexnetPipeline.jobId`); a malformed one makes the message unusable. */
function jobOf(record: Record<string, any>, index: number, messageId: string | undefined): { jobId?: string } {
  const field: unknown = record.alexnetPipeline;
  if (field === undefined) return {};
  const jobId = isObject(field) ? field.jobId : undefined;
  if (typeof jobId !== 'string' || !isJobId(jobId))
    throw new MessageFormatError(`Records[${index}].alexnetPipeline.jobId is not a job id`, { messageId });
  return { jobId };
}

/** What a sequencer is: hexadecimal digits, a sane number of them. */
const SEQUENCER = /^[0-9A-Fa-f]{1,64}$/;

/**
 * Orders two sequencers of events for the same key: negative when `a` is older, positive when
 * newer, 0 for the same event. As the S3 User Guide says: the shorter is right-padded with zeros,
 * then the two are compared as strings (hex digits, upper case).
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padEnd(width, '0');
  const right = b.toUpperCase().padEnd(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}

/** S3 event keys are form-encoded: `+` for a space, percent escapes for the rest. */
export function decodeS3EventKey(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * Encodes a key the way S3 does in event notifications (Java's URLEncoder, keeping `/`): spaces
 * become `+`, a literal `+` becomes `%2B`, UTF-8 bytes and reserved characters are percent-escaped.
 */
export function encodeS3EventKey(key: string): string {
  return encodeURIComponent(key)
    .replace(/%20/g, '+')
    .replace(/%2F/g, '/')
    .replace(/[!'()~]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A key from a ListObjectsV2 response asked for with `EncodingType: 'url'` (S3 encodes keys the
 * way it does in events): decoded when the response says it is encoded, as is otherwise. Keys are
 * listed encoded because XML cannot carry some characters of a key byte for byte (a carriage
 * return becomes a line feed).
 */
export function listedKey(key: string, encodingType: string | undefined): string {
  return encodingType === 'url' ? decodeS3EventKey(key) : key;
}
