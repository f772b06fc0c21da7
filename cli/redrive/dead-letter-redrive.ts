import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  StartMessageMoveTaskCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { inSqsBatches } from '../../pipeline/sqs-operations.js';
import { ORIGINAL_MESSAGE_ID_ATTRIBUTE } from '../../pipeline/worker-environment.js';
import { CliError } from '../support/cli-error.js';

/** What a redrive did. */
export interface RedriveReport {
  /** How the messages were moved: SQS's own move task, or receive-send-delete (emulators). */
  readonly method: 'move-task' | 'receive-send-delete';
  readonly moved: number;
  /** Moved in this run, failed again and back in the DLQ: left there, not moved twice. */
  readonly cameBack: number;
}

/** Options of {@link redriveDeadLetters}. */
export interface RedriveOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Give up waiting for a move task after this long. Default: 300 s. */
  readonly timeoutSeconds?: number;
  /** Between polls of the move task's status. Default: 1 s. */
  readonly pollIntervalMs?: number;
}

/**
 * Moves dead-lettered messages back to the queue. On AWS it starts SQS's own message move task
 * (StartMessageMoveTask, which moves each message once and deletes it from the DLQ itself) and
 * waits for it; where the endpoint does not offer that (the local emulator), it receives, sends
 * and deletes, checking every delete and moving each message at most once per run.
 */
export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveReport> {
  const [dlqArn, destinationArn] = await Promise.all([
    arnOf(options.sqs, options.deadLetterQueueUrl),
    arnOf(options.sqs, options.queueUrl),
  ]);
  let taskHandle: string | undefined;
  try {
    taskHandle = (
      await options.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: destinationArn }))
    ).TaskHandle;
  } catch (error) {
    if (!isUnsupported(error)) throw error;
  }
  if (!taskHandle) return redriveByHand(options);
  return { method: 'move-task', moved: await waitForMoveTask(options, dlqArn, taskHandle), cameBack: 0 };
}

async function arnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
    .Attributes?.QueueArn;
  if (!arn) throw new CliError(`${queueUrl} has no QueueArn attribute`);
  return arn;
}

/** An endpoint that does not know the action (emulators answer InvalidAction or UnsupportedOperation). */
function isUnsupported(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return name === 'InvalidAction' || name === 'UnsupportedOperation' || name === 'InvalidActionException';
}

async function waitForMoveTask(options: RedriveOptions, dlqArn: string, taskHandle: string): Promise<number> {
  const deadline = Date.now() + (options.timeoutSeconds ?? 300) * 1000;
  for (;;) {
    const { Results = [] } = await options.sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }),
    );
    const task = Results.find((result) => result.TaskHandle === taskHandle) ?? Results[0];
    if (task?.Status === 'COMPLETED') return task.ApproximateNumberOfMessagesMoved ?? 0;
    if (task?.Status === 'FAILED' || task?.Status === 'CANCELLED') {
      throw new CliError(
        `the message move task ${task.Status.toLowerCase()} after moving ${task.ApproximateNumberOfMessagesMoved ?? 0} messages: ${task.FailureReason ?? 'no reason given'}`,
      );
    }
    if (Date.now() > deadline) {
      throw new CliError(
        `the message move task is still running (${task?.ApproximateNumberOfMessagesMoved ?? 0} moved so far); follow it with \`aws sqs list-message-move-tasks --source-arn ${dlqArn}\``,
      );
    }
    await sleep(options.pollIntervalMs ?? 1000);
  }
}

/**
 * Receive, send, delete — ten at a time. A message this run sent to the queue that fails again
 * comes back to the DLQ either with the id the send gave it (the redrive policy keeps it) or
 * naming that id in its `alexnet-original-message-id` attribute (the worker dead-letters unusable
 * messages itself): it is left in the DLQ (invisible until the run ends, then visible again)
 * rather than moved round for ever. A message copied to the queue whose delete from the DLQ fails
 * twice is reported, because it now sits in both queues.
 */
async function redriveByHand(options: RedriveOptions): Promise<RedriveReport> {
  const { sqs, queueUrl, deadLetterQueueUrl } = options;
  const sentIds = new Set<string>();
  const cameBack: Message[] = [];
  let moved = 0;
  try {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: deadLetterQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 120,
          MessageAttributeNames: [ORIGINAL_MESSAGE_ID_ATTRIBUTE],
        }),
      );
      if (Messages.length === 0) break;
      const movedBefore = (message: Message) =>
        sentIds.has(message.MessageId ?? '') ||
        sentIds.has(message.MessageAttributes?.[ORIGINAL_MESSAGE_ID_ATTRIBUTE]?.StringValue ?? '');
      const fresh = Messages.filter((message) => !movedBefore(message));
      cameBack.push(...Messages.filter(movedBefore));
      if (fresh.length === 0) continue;
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: fresh.map((message, i) => ({ Id: String(i), MessageBody: message.Body ?? '' })),
        }),
      );
      for (const entry of sent.Successful ?? []) sentIds.add(entry.MessageId ?? '');
      const copied = (sent.Successful ?? []).map((entry) => fresh[Number(entry.Id)]!);
      await deleteChecked(sqs, deadLetterQueueUrl, copied);
      moved += copied.length;
    }
  } finally {
    await releaseAll(sqs, deadLetterQueueUrl, cameBack);
  }
  return { method: 'receive-send-delete', moved, cameBack: cameBack.length };
}

async function deleteChecked(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  let remaining = messages;
  for (let attempt = 1; attempt <= 2 && remaining.length > 0; attempt++) {
    const response = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: remaining.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    remaining = (response.Failed ?? []).map((failure) => remaining[Number(failure.Id)]!);
  }
  if (remaining.length > 0) {
    throw new CliError(
      `${remaining.length} messages were copied to the queue but could not be deleted from the dead-letter queue, so they are now in both (their images will be processed twice; results are idempotent): ${remaining.map((m) => m.MessageId).join(', ')}`,
    );
  }
}

async function releaseAll(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (const chunk of inSqsBatches(messages)) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message, i) => ({
          Id: String(i),
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}
