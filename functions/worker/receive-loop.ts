import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '../../common/logger.js';
import { QueueNotFoundError } from '../../pipeline/errors.js';
import { LONG_POLL_MARGIN_SECONDS } from '../../pipeline/worker-environment.js';
import type { CapacityGate } from './capacity-gate.js';
import { changeVisibility } from './queue-operations.js';

/** Options of {@link ReceiveLoop}. */
export interface ReceiveLoopOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Long polls in flight at once. */
  readonly concurrency: number;
  readonly waitSeconds: number;
  readonly visibilityTimeoutSeconds: number;
  readonly gate: CapacityGate;
  readonly logger: Logger;
  /** Called with each received message, which owns one capacity slot from then on. */
  readonly onMessage: (message: Message) => void;
  /** Called when receiving cannot go on (the queue does not exist). */
  readonly onFatal: (error: Error) => void;
}

const MISSING_QUEUE = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue']);

/**
 * Several long polls in flight, each asking SQS for no more messages than there are free slots
 * (see {@link CapacityGate}), and each rescheduling itself until stopped. A long poll's request
 * may take its wait plus a margin, after which it is abandoned and tried again.
 */
export class ReceiveLoop {
  private stopping = false;
  private loops: Promise<void>[] = [];
  /** Resolves when {@link stop} is called. */
  private readonly stopped: Promise<true>;
  private announceStop!: () => void;

  constructor(private readonly options: ReceiveLoopOptions) {
    this.stopped = new Promise((resolve) => (this.announceStop = () => resolve(true)));
  }

  start(): void {
    this.loops = Array.from({ length: this.options.concurrency }, () => this.poll());
  }

  /**
   * Stops receiving. Polls under way are not aborted: SQS may already have handed them messages,
   * which an aborted request would hide until their visibility timeout. They end within the wait,
   * and whatever they bring is made visible again at once.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.announceStop();
    await Promise.all(this.loops);
  }

  /**
   * The gate's slots for one receive, or undefined once stopping. A poll waiting for free slots
   * does not hold up {@link stop}: the work that holds them may never end (a hung image at the end
   * of a drain), and a receive waits for several. Slots granted after the stop are handed back.
   */
  private async reserveUnlessStopped(): Promise<number | undefined> {
    const { gate } = this.options;
    const reservation = gate.reserveForReceive();
    if (await Promise.race([reservation.then(() => false), this.stopped])) {
      reservation.then(
        (slots) => gate.release(slots),
        () => undefined,
      );
      return undefined;
    }
    return reservation;
  }

  private async poll(): Promise<void> {
    const { sqs, queueUrl, gate, logger } = this.options;
    while (!this.stopping) {
      let slots: number | undefined;
      try {
        slots = await this.reserveUnlessStopped();
      } catch {
        return; // the gate was closed: the worker is failing
      }
      if (slots === undefined) return;
      if (this.stopping) {
        gate.release(slots);
        return;
      }
      let messages: Message[];
      try {
        const response = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: slots,
            WaitTimeSeconds: this.options.waitSeconds,
            VisibilityTimeout: this.options.visibilityTimeoutSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
          { requestTimeout: (this.options.waitSeconds + LONG_POLL_MARGIN_SECONDS) * 1000 },
        );
        messages = response.Messages ?? [];
      } catch (error) {
        gate.release(slots);
        if (MISSING_QUEUE.has((error as { name?: string }).name ?? '')) {
          this.options.onFatal(new QueueNotFoundError(queueUrl, error));
          return;
        }
        logger.warn({ err: error }, 'receive failed; retrying in 1 s');
        await sleep(1000);
        continue;
      }
      gate.release(slots - messages.length);
      if (this.stopping) {
        // Received while stopping: hand them straight back rather than start them.
        await changeVisibility(
          sqs,
          queueUrl,
          messages.map((m) => ({ messageId: m.MessageId ?? '', receiptHandle: m.ReceiptHandle ?? '' })),
          0,
          logger,
        );
        gate.release(messages.length);
        return;
      }
      for (const message of messages) this.options.onMessage(message);
    }
  }
}
