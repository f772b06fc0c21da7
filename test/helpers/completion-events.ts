import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { JOB_COMPLETED_EVENT } from '../../pipeline/jobs/job-events.js';

/**
 * An EventBridge client whose PutEvents is answered by aws-sdk-client-mock in its documented shape
 * (every entry accepted), for a worker to send job events to; `completed()` is the detail of every
 * `Job Completed` event sent so far, in order.
 */
export function mockedCompletionEvents(): { events: EventBridgeClient; completed: () => any[] } {
  const events = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  });
  const eventBridge = mockClient(events);
  eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `event-${i}` })),
  }));
  const completed = () =>
    eventBridge
      .commandCalls(PutEventsCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .filter((entry) => entry.DetailType === JOB_COMPLETED_EVENT.detailType)
      .map((entry): any => JSON.parse(entry.Detail!));
  return { events, completed };
}
