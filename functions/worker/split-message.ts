import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SplitSendError } from '../../pipeline/errors.js';
import { inSqsBatches } from '../../pipeline/sqs-operations.js';

/**
 * A message of several records (a job's: ten images) received this many times or more is split
 * into one message per record instead of being run again. Its receive count is the queue's
 * `maxReceiveCount` budget of all its records together: one image that crashes the worker, or a
 * few transient failures among ten images, would otherwise take the other images to the
 * dead-letter queue with it. Split, each image has a receive count of its own. The first receive
 * is not split: that is the common case, and it stays ten images to a message.
 */
export const SPLIT_FROM_RECEIVE = 2;

/** Whether a message of `records` records, received `receiveCount` times, is split rather than run. */
export function shouldSplit(records: number, receiveCount: number): boolean {
  return records > 1 && receiveCount >= SPLIT_FROM_RECEIVE;
}

/**
 * The bodies of the single-record messages a message body splits into: each is the body with one
 * of its `Records`, everything else kept as it was (a job's id, the listed size and ETag). The
 * body has already been parsed as an S3 event.
 */
export function singleRecordBodies(body: string): string[] {
  const event = JSON.parse(body) as { Records: unknown[] } & Record<string, unknown>;
  return event.Records.map((record) => JSON.stringify({ ...event, Records: [record] }));
}

/**
 * Sends `bodies` to the queue. Throws if any could not be sent: the original message then goes
 * back to the queue whole, and a record sent twice is harmless (a stored result is not computed
 * again, a job counts each image once).
 */
export async function sendSplitMessages(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<void> {
  for (const batch of inSqsBatches(bodies.map((MessageBody, i) => ({ Id: String(i), MessageBody })))) {
    const { Failed = [] } = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch }));
    if (Failed.length > 0)
      throw new SplitSendError(queueUrl, Failed.length, `${Failed[0]?.Code ?? 'unknown'}: ${Failed[0]?.Message ?? ''}`);
  }
}
