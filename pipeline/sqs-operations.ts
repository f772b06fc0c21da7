import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** SQS batch calls (SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch) take at most ten entries. */
export const SQS_BATCH_LIMIT = 10;

/** Items in groups of at most {@link SQS_BATCH_LIMIT}, one group per batch call. */
export function inSqsBatches<T>(items: readonly T[]): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += SQS_BATCH_LIMIT)
    batches.push(items.slice(start, start + SQS_BATCH_LIMIT));
  return batches;
}

/** Visible and in-flight messages of a queue (SQS's approximate counts). */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const response = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(response.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(response.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/**
 * Receives and deletes messages until a receive finds none visible; returns how many it deleted.
 * For tests and the fault suite (a queue made empty, as if its messages had never been sent).
 */
export async function deleteVisibleMessages(sqs: SQSClient, queueUrl: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: SQS_BATCH_LIMIT, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return deleted;
    await Promise.all(
      Messages.map((message) =>
        sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle })),
      ),
    );
    deleted += Messages.length;
  }
}
