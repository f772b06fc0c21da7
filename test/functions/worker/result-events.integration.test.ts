import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandInput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import type { QueueConsumer } from '../../../functions/worker/queue-consumer.js';
import { ImageClassifier } from '../../../model/index.js';
import { RESULT_EVENT } from '../../../pipeline/result-events.js';
import { textPretendingToBeAnImage } from '../../helpers/image-factories.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { readFixtureImage } from '../../helpers/fixtures.js';

/**
 * Completion events: the worker runs against the embedded S3 and SQS; EventBridge, which no
 * embedded emulator speaks, is an aws-sdk-client-mock answering in PutEvents' documented shape
 * (`FailedEntryCount`, `Entries[]` with `EventId` or `ErrorCode`/`ErrorMessage`, in request order).
 */
describe('worker completion events (EventBridge PutEvents)', () => {
  let classifier: ImageClassifier;
  let pipeline: LocalPipeline;
  let worker: QueueConsumer | undefined;
  const events = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const eventBridge = mockClient(events);
  const accepted = (input: PutEventsCommandInput) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `event-${Date.now()}-${i}` })),
  });
  const sentEntries = (): PutEventsRequestEntry[] =>
    eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);
  const detailsFor = (key: string) =>
    sentEntries()
      .map((entry) => JSON.parse(entry.Detail!))
      .filter((detail) => detail.key === key);

  before(async () => {
    classifier = await ImageClassifier.load({ maxBatchSize: 32, device: 'cpu' });
  });
  after(() => classifier.dispose());
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await pipeline?.stop();
    eventBridge.reset();
  });

  it('sends one event per stored result, ok and error alike, ten entries per call at most, carrying the labels', async () => {
    eventBridge.on(PutEventsCommand).callsFake(accepted);
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier, { eventBusName: 'default' }, { events });
    const names = Array.from({ length: 14 }, (_, i) => `uploads/many/${i}.jpg`);
    await Promise.all(names.map((key) => pipeline.upload(key, readFixtureImage('chelsea.jpg'))));
    await pipeline.upload('uploads/many/broken.jpg', textPretendingToBeAnImage);
    await pipeline.waitFor('15 events', async () => sentEntries().length >= 15);

    const calls = eventBridge.commandCalls(PutEventsCommand);
    assert.ok(
      calls.every((call) => (call.args[0].input.Entries ?? []).length <= 10),
      'at most ten entries per call',
    );
    assert.ok(calls.length < 15, `events of one batch share calls (${calls.length} calls for 15 events)`);
    for (const entry of sentEntries()) {
      assert.equal(entry.Source, RESULT_EVENT.source);
      assert.equal(entry.DetailType, RESULT_EVENT.detailType);
      assert.equal(entry.EventBusName, 'default');
    }
    const result = await pipeline.readJson('results/many/0.jpg.json');
    const [ok] = detailsFor('uploads/many/0.jpg');
    assert.equal(ok.status, 'ok');
    assert.equal(ok.resultKey, 'results/many/0.jpg.json');
    assert.equal(ok.bucket, pipeline.aws.bucket);
    assert.equal(ok.topLabel, result.labels[0].label);
    assert.equal(ok.topScore, result.labels[0].score);
    assert.deepEqual(ok.labels, result.labels);
    assert.equal(ok.etag, result.source.etag);
    assert.equal(ok.pretrained, false);
    const [failed] = detailsFor('uploads/many/broken.jpg');
    assert.equal(failed.status, 'error');
    assert.equal(failed.error.code, 'NOT_AN_IMAGE');
    assert.equal(failed.topLabel, undefined);
  });

  it('puts the message back when PutEvents fails, and sends the event on redelivery without recomputing', async () => {
    eventBridge
      .on(PutEventsCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }),
      )
      .callsFake(accepted);
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier, { eventBusName: 'default' }, { events });
    await pipeline.upload('uploads/retry/cat.jpg', readFixtureImage('chelsea.jpg'));
    await pipeline.waitFor(
      'the event after a retry',
      async () =>
        eventBridge.commandCalls(PutEventsCommand).length >= 2 && detailsFor('uploads/retry/cat.jpg').length >= 2,
    );
    await pipeline.waitFor('an empty queue', () => pipeline.queueIsEmpty());
    assert.equal(worker.stats.classified, 1, 'computed once');
    assert.ok(worker.stats.duplicates >= 1, 'the redelivery found the stored result');
    assert.ok(worker.stats.retried >= 1);
  });

  it('treats an entry EventBridge refuses as not sent', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] })
      .callsFake(accepted);
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier, { eventBusName: 'default' }, { events });
    await pipeline.upload('uploads/refused/cat.jpg', readFixtureImage('chelsea.jpg'));
    await pipeline.waitFor('a second attempt', async () => eventBridge.commandCalls(PutEventsCommand).length >= 2);
    assert.ok(worker.stats.retried >= 1, 'the refused entry sent the message back');
  });

  it('sends nothing without EVENT_BUS_NAME', async () => {
    eventBridge.on(PutEventsCommand).callsFake(accepted);
    pipeline = await LocalPipeline.start();
    worker = pipeline.startWorker(classifier, {}, { events });
    await pipeline.upload('uploads/quiet/cat.jpg', readFixtureImage('chelsea.jpg'));
    await pipeline.waitForKeys(['results/quiet/cat.jpg.json']);
    assert.equal(eventBridge.commandCalls(PutEventsCommand).length, 0);
  });
});
