import { readFile } from 'node:fs/promises';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { SQS_BATCH_LIMIT } from '../pipeline/sqs-operations.js';

/** Worker log lines shown per dead-lettered message: enough to see its receives, not a whole log. */
const LOG_LINES_PER_MESSAGE = 12;

/**
 * Why messages ended in the dead-letter queue, for a failed scenario's report: each message's id,
 * receive count and object keys, then the worker log lines that name its id or one of its keys.
 * The messages are only looked at (received with a visibility timeout of 0), never deleted.
 */
export async function describeDeadLetters(
  sqs: SQSClient,
  deadLetterQueueUrl: string,
  workerLogFiles: readonly string[],
): Promise<string[]> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: deadLetterQueueUrl,
      MaxNumberOfMessages: SQS_BATCH_LIMIT,
      VisibilityTimeout: 0,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  const logs = await Promise.all(
    workerLogFiles.map(async (file) => ({ file, lines: (await readFile(file, 'utf8').catch(() => '')).split('\n') })),
  );
  return Messages.map((message) => {
    const id = message.MessageId ?? '?';
    const keys = objectKeysOf(message.Body ?? '');
    const mentions = logs.flatMap(({ file, lines }) =>
      lines
        .filter((line) => line.includes(id) || keys.some((key) => line.includes(key)))
        .map((line) => `  ${file.split('/').pop()}: ${line}`),
    );
    return [
      `dead-lettered ${id}: received ${message.Attributes?.ApproximateReceiveCount ?? '?'} times, keys ${keys.join(', ') || '(none)'}`,
      ...mentions.slice(-LOG_LINES_PER_MESSAGE),
    ].join('\n');
  });
}

/** The object keys of an S3 event body, or none if it is not one. */
function objectKeysOf(body: string): string[] {
  try {
    const event = JSON.parse(body) as { Records?: Array<{ s3?: { object?: { key?: string } } }> };
    return (event.Records ?? []).flatMap((record) => (record.s3?.object?.key ? [record.s3.object.key] : []));
  } catch {
    return [];
  }
}
