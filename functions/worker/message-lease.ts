import { ChangeMessageVisibilityCommand, SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../../common/logger.js';
import { ORIGINAL_MESSAGE_ID_ATTRIBUTE } from '../../pipeline/worker-environment.js';
import type { MessageDeleter } from './queue-operations.js';

/**
 * How a lease ends, exactly once: `delete` (every record is done), `retry` (back to the queue
 * after the retry delay; the redrive policy moves it to the DLQ after its receives), `release`
 * (visible again at once: shutdown, fatal error), `dead-letter` (straight to the DLQ: retrying
 * cannot fix it).
 */
export type LeaseEnd = 'delete' | 'retry' | 'release' | 'dead-letter';

/** What a lease talks through, and its timings. */
export interface MessageLeaseOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly deleter: MessageDeleter;
  /** Where `dead-letter` sends the body; without it, `dead-letter` releases and the redrive policy moves the message. */
  readonly deadLetterQueueUrl?: string;
  readonly visibilityTimeoutSeconds: number;
  readonly heartbeatIntervalSeconds: number;
  readonly retryDelaySeconds: number;
  readonly logger: Logger;
}

/**
 * One received message's hold on the queue, from receive to its one final delete, retry,
 * release or dead-letter. It is keyed by receipt handle, so two deliveries of the same message
 * (standard queues make them) are two leases with their own heartbeats. The lease owns its
 * heartbeat timer, and every visibility change of the message goes through one chain, so a
 * heartbeat already under way lands before the final change and none starts after it: an
 * "extend to 60 s" can never undo a retry delay or a release.
 */
export class MessageLease {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string | undefined;
  /** How many times SQS has handed this message out, this time included. */
  readonly receiveCount: number;
  private heartbeat: NodeJS.Timeout | undefined;
  private calls: Promise<void> = Promise.resolve();
  private ending: Promise<void> | undefined;

  constructor(
    message: Message,
    private readonly options: MessageLeaseOptions,
  ) {
    this.messageId = message.MessageId ?? '';
    this.receiptHandle = message.ReceiptHandle ?? '';
    this.body = message.Body;
    this.receiveCount = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
  }

  /** Starts the heartbeat: every interval, the message's visibility is extended again. */
  start(): this {
    this.heartbeat = setInterval(
      () => void this.enqueue(() => this.changeVisibility(this.options.visibilityTimeoutSeconds, 'heartbeat')),
      this.options.heartbeatIntervalSeconds * 1000,
    );
    this.heartbeat.unref();
    return this;
  }

  /** True once {@link end} was called. */
  get ended(): boolean {
    return this.ending !== undefined;
  }

  /** Ends the lease; the first call decides and later calls return the same promise. */
  end(how: LeaseEnd): Promise<void> {
    if (this.ending) return this.ending;
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.ending = this.enqueue(() => this.finish(how));
    return this.ending;
  }

  private enqueue(call: () => Promise<void>): Promise<void> {
    this.calls = this.calls.then(call, call);
    return this.calls;
  }

  private async finish(how: LeaseEnd): Promise<void> {
    if (how === 'delete') return this.options.deleter.delete(this);
    if (how === 'retry') return this.changeVisibility(this.options.retryDelaySeconds, 'retry');
    if (how === 'dead-letter' && this.options.deadLetterQueueUrl && (await this.sendToDeadLetterQueue()))
      return this.options.deleter.delete(this);
    return this.changeVisibility(0, 'release');
  }

  private async changeVisibility(seconds: number, reason: 'heartbeat' | 'retry' | 'release'): Promise<void> {
    try {
      await this.options.sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: this.options.queueUrl,
          ReceiptHandle: this.receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    } catch (error) {
      // The message comes back when its visibility runs out, which is what every reason wants at worst.
      this.options.logger.warn({ messageId: this.messageId, reason, seconds, err: error }, 'visibility change failed');
    }
  }

  private async sendToDeadLetterQueue(): Promise<boolean> {
    try {
      await this.options.sqs.send(
        new SendMessageCommand({
          QueueUrl: this.options.deadLetterQueueUrl,
          MessageBody: this.body ?? '',
          MessageAttributes: {
            [ORIGINAL_MESSAGE_ID_ATTRIBUTE]: { DataType: 'String', StringValue: this.messageId || 'unknown' },
          },
        }),
      );
      return true;
    } catch (error) {
      this.options.logger.warn(
        { messageId: this.messageId, err: error },
        'could not send the message to the DLQ; released for the redrive policy instead',
      );
      return false;
    }
  }
}
