import { randomBytes, randomUUID } from 'node:crypto';
import { encodeS3EventKey } from '../pipeline/s3-event.js';

/** One S3 → SQS notification rule, as a bucket's notification configuration states it. */
export interface NotificationRule {
  readonly id: string;
  readonly bucket: string;
  /** Key prefix filter (e.g. `uploads/`). */
  readonly prefix: string;
  /** Key suffix filters, any of which matches (case-sensitive, as on S3). */
  readonly suffixes: readonly string[];
}

/** True when a created key passes the rule's prefix and suffix filters. */
export function ruleMatches(rule: NotificationRule, bucket: string, key: string): boolean {
  return bucket === rule.bucket && key.startsWith(rule.prefix) && rule.suffixes.some((suffix) => key.endsWith(suffix));
}

let lastSequencer = { millisecond: 0, count: 0 };

/**
 * A sequencer as S3 makes them: hexadecimal, greater for a later write, here strictly increasing
 * within this process — the millisecond (12 digits), then a counter within it (6 digits).
 */
export function nextSequencer(now = Date.now()): string {
  lastSequencer =
    now > lastSequencer.millisecond
      ? { millisecond: now, count: 0 }
      : { millisecond: lastSequencer.millisecond, count: lastSequencer.count + 1 };
  return (
    lastSequencer.millisecond.toString(16).toUpperCase().padStart(12, '0') +
    lastSequencer.count.toString(16).toUpperCase().padStart(6, '0')
  );
}

/** The notification S3 sends for a created object, in AWS's exact event format (version 2.1). */
export function objectCreatedEvent(fields: {
  rule: NotificationRule;
  region: string;
  eventName:
    'ObjectCreated:Put' | 'ObjectCreated:CompleteMultipartUpload' | 'ObjectCreated:Post' | 'ObjectCreated:Copy';
  key: string;
  size: number;
  eTag: string;
  time?: Date;
  /** The write's place in the order of writes to its key. Default: {@link nextSequencer}. */
  sequencer?: string;
}): string {
  const time = fields.time ?? new Date();
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: fields.region,
        eventTime: time.toISOString(),
        eventName: fields.eventName,
        userIdentity: { principalId: 'AWS:LOCAL' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: {
          'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
          'x-amz-id-2': randomBytes(24).toString('base64'),
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: fields.rule.id,
          bucket: {
            name: fields.rule.bucket,
            ownerIdentity: { principalId: 'LOCAL' },
            arn: `arn:aws:s3:::${fields.rule.bucket}`,
          },
          object: {
            key: encodeS3EventKey(fields.key),
            size: fields.size,
            eTag: fields.eTag.replace(/"/g, ''),
            sequencer: fields.sequencer ?? nextSequencer(),
          },
        },
      },
    ],
  });
}

/** The `s3:TestEvent` S3 sends to a queue when a notification configuration is saved. */
export function testEvent(bucket: string, time = new Date()): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: time.toISOString(),
    Bucket: bucket,
    RequestId: randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase(),
    HostId: randomBytes(24).toString('base64'),
  });
}
