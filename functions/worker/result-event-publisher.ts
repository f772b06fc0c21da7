import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import DataLoader from 'dataloader';
import { TransientAwsError } from '../../pipeline/errors.js';
import { RESULT_EVENT, resultEventDetail } from '../../pipeline/result-events.js';
import type { ResultDocument } from '../../pipeline/result-document.js';
import { PipelineError } from '../../common/errors.js';

/** How long an event waits for others to share its PutEvents call. */
export const EVENT_GATHER_MS = 25;

/** Entries per PutEvents call: EventBridge's maximum. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

interface PendingEvent {
  readonly document: ResultDocument;
  readonly resultKey: string;
}

/**
 * Sends one "Image result stored" event per stored result to an EventBridge bus. Events sent
 * within {@link EVENT_GATHER_MS} of each other (the results of one inference batch) are gathered
 * by DataLoader into PutEvents calls of up to ten entries. A call that fails after the SDK's retries, or an
 * entry EventBridge refuses, rejects that result's `publish` with a transient error: the message
 * goes back to the queue, and its redelivery sends the event again (at least once).
 */
export class ResultEventPublisher {
  private readonly loader: DataLoader<PendingEvent, void>;

  constructor(
    private readonly events: EventBridgeClient,
    private readonly busName: string,
  ) {
    this.loader = new DataLoader((pending) => this.send(pending), {
      cache: false,
      maxBatchSize: PUT_EVENTS_MAX_ENTRIES,
      // The results of one inference batch are stored within a few milliseconds of each other, not
      // in one tick: wait a moment so that their events share calls.
      batchScheduleFn: (callback) => setTimeout(callback, EVENT_GATHER_MS),
    });
  }

  publish(document: ResultDocument, resultKey: string): Promise<void> {
    return this.loader.load({ document, resultKey });
  }

  private async send(pending: readonly PendingEvent[]): Promise<Array<void | Error>> {
    const entries = pending.map(({ document, resultKey }) => ({
      EventBusName: this.busName,
      Source: RESULT_EVENT.source,
      DetailType: RESULT_EVENT.detailType,
      Detail: JSON.stringify(resultEventDetail(document, resultKey)),
    }));
    try {
      const response = await this.events.send(new PutEventsCommand({ Entries: entries }));
      // Entries answer in order; a failed one has an ErrorCode and no EventId.
      return pending.map(({ resultKey }, i) => {
        const entry = response.Entries?.[i];
        if (entry?.EventId && !entry.ErrorCode) return undefined;
        return new TransientAwsError(
          'PutEvents',
          { resultKey, busName: this.busName },
          new PipelineError(
            'EVENT_REFUSED',
            `${entry?.ErrorCode ?? 'no answer'}: ${entry?.ErrorMessage ?? 'the entry was not accepted'}`,
            { retryable: true },
          ),
        );
      });
    } catch (error) {
      return pending.map(
        ({ resultKey }) => new TransientAwsError('PutEvents', { resultKey, busName: this.busName }, error),
      );
    }
  }
}
