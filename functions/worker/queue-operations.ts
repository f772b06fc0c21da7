import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../../common/logger.js';
import { inSqsBatches, SQS_BATCH_LIMIT } from '../../pipeline/sqs-operations.js';

/** A received message's handle, as the batch calls need it. */
export interface MessageHandle {
  readonly messageId: string;
  readonly receiptHandle: string;
}

/**
 * Sets the visibility timeout of many messages with `ChangeMessageVisibilityBatch` (ten a call):
 * the heartbeat extends it, a retry or a shutdown sets it to a short delay or zero. Failures are
 * logged; a message whose visibility could not be changed simply comes back when it expires.
 */
export async function changeVisibility(
  sqs: SQSClient,
  queueUrl: string,
  handles: readonly MessageHandle[],
  visibilityTimeoutSeconds: number,
  logger: Logger,
): Promise<void> {
  await Promise.all(
    inSqsBatches(handles).map(async (chunk) => {
      try {
        const response = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((h, i) => ({
              Id: String(i),
              ReceiptHandle: h.receiptHandle,
              VisibilityTimeout: visibilityTimeoutSeconds,
            })),
          }),
        );
        for (const failure of response.Failed ?? []) {
          logger.warn(
            { messageId: chunk[Number(failure.Id)]?.messageId, code: failure.Code },
            'visibility change refused',
          );
        }
      } catch (error) {
        logger.warn({ err: error, messages: chunk.length }, 'visibility change failed');
      }
    }),
  );
}

interface QueuedDelete {
  readonly handle: MessageHandle;
  readonly done: () => void;
}

/**
 * Deletes messages in batches of ten with `DeleteMessageBatch`. Callers add a message only after
 * all of its results are stored; deletions within `flushDelayMs` of each other share a call.
 * Each deletion's promise settles when its call has finished; a refused or failed delete is
 * logged (the message comes back and is found already done).
 */
export class MessageDeleter {
  private queued: QueuedDelete[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly logger: Logger,
    /** How long a deletion may wait for others to share its call. Default: 20 ms. */
    private readonly flushDelayMs = 20,
  ) {}

  delete(handle: MessageHandle): Promise<void> {
    return new Promise<void>((done) => {
      this.queued.push({ handle, done });
      if (this.queued.length >= SQS_BATCH_LIMIT) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.flushDelayMs);
    });
  }

  /** Sends what is queued; resolves when every delete call so far has finished. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batches = inSqsBatches(this.queued);
    this.queued = [];
    const sent = Promise.all(batches.map((batch) => this.send(batch)));
    this.flushing = Promise.all([this.flushing, sent]).then(() => undefined);
    return this.flushing;
  }

  private async send(batch: QueuedDelete[]): Promise<void> {
    try {
      const response = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((entry, i) => ({ Id: String(i), ReceiptHandle: entry.handle.receiptHandle })),
        }),
      );
      for (const failure of response.Failed ?? []) {
        this.logger.warn(
          { messageId: batch[Number(failure.Id)]?.handle.messageId, code: failure.Code },
          'message delete refused; it will be redelivered and found already done',
        );
      }
    } catch (error) {
      this.logger.warn(
        { err: error, messages: batch.length },
        'message delete failed; the messages will be redelivered and found already done',
      );
    } finally {
      for (const entry of batch) entry.done();
    }
  }
}
