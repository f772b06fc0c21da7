import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  DynamoDBDocumentClient,
  TransactWriteCommand,
  type DynamoDBDocumentClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/lib-dynamodb';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { silentLogger } from '../../../common/logger.js';
import {
  CLAIM_POLL_MS,
  CLAIM_WAIT_MS,
  CompletionPendingError,
  JobProgress,
} from '../../../functions/worker/job-progress.js';
import { JOB_COMPLETED_EVENT } from '../../../pipeline/jobs/job-events.js';
import { COMPLETION_CLAIM_MS, JobStore } from '../../../pipeline/jobs/job-store.js';
import { newJobId } from '../../../pipeline/jobs/job-table.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';

/**
 * The completion event of a job when things go wrong between the count and the event: the job
 * state in the embedded DynamoDB, EventBridge an aws-sdk-client-mock answering in PutEvents' shape.
 */
describe('a job’s completion event: one, even when sending it fails or its sender dies', () => {
  let pipeline: LocalPipeline;
  let store: JobStore;
  const events = new EventBridgeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  });
  const eventBridge = mockClient(events);
  const accepted = { FailedEntryCount: 0, Entries: [{ EventId: 'accepted' }] };
  const progress = (now?: () => Date) =>
    new JobProgress({ store: async () => store, events, busName: 'default', logger: silentLogger, now, gatherMs: 5 });
  const image = (n: number) => ({ bucket: 'b', key: `uploads/j/${n}.jpg`, etag: `e${n}` });

  async function jobOfTwo(): Promise<string> {
    const id = newJobId();
    await store.create({
      id,
      source: { bucket: 'b', prefix: `uploads/${id}/` },
      manifestKey: 'm',
      createdAt: new Date(),
    });
    await store.listingFinished(id, 2, 2000);
    return id;
  }

  before(async () => {
    pipeline = await LocalPipeline.start();
    store = new JobStore(pipeline.dynamo, pipeline.aws.jobsTable);
  });
  after(() => pipeline.stop());
  afterEach(() => eventBridge.reset());

  it('sends it again on the redelivery when PutEvents fails, and then never again', async () => {
    const jobId = await jobOfTwo();
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }] })
      .resolves(accepted);
    await progress().count({ jobId, ...image(1) }, 'stored');
    assert.equal(eventBridge.commandCalls(PutEventsCommand).length, 0, 'not done yet: no event');
    await assert.rejects(progress().count({ jobId, ...image(2) }, 'stored'), { code: 'TRANSIENT_AWS_ERROR' });
    // The message comes back: the image is counted already, and the event goes out now.
    await progress().count({ jobId, ...image(2) }, 'stored');
    await progress().count({ jobId, ...image(2) }, 'stored');
    const calls = eventBridge.commandCalls(PutEventsCommand);
    assert.equal(calls.length, 2, 'one refused, one accepted, none after');
    const detail = JSON.parse(calls[1]!.args[0].input.Entries![0]!.Detail!);
    assert.equal(calls[1]!.args[0].input.Entries![0]!.DetailType, JOB_COMPLETED_EVENT.detailType);
    assert.deepEqual([detail.jobId, detail.total, detail.stored], [jobId, 2, 2]);
    const job = await store.get(jobId);
    assert.deepEqual([job?.done, job?.completionEvent], [2, 'sent']);
  });

  /** A JobProgress on a clock that only its pauses move; `onPause` plays the other worker. */
  function waitingProgress(onPause: (clock: number) => Promise<void> = async () => undefined) {
    let clock = Date.now();
    const pauses: number[] = [];
    const waiting = new JobProgress({
      store: async () => store,
      events,
      busName: 'default',
      logger: silentLogger,
      gatherMs: 5,
      now: () => new Date(clock),
      sleep: async (ms) => {
        pauses.push(ms);
        clock += ms;
        await onPause(clock);
      },
    });
    return { waiting, pauses };
  }

  /** A job of two whose second image is counted and whose event another worker has just claimed. */
  async function jobClaimedByAnother(): Promise<string> {
    const jobId = await jobOfTwo();
    await progress().count({ jobId, ...image(1) }, 'stored');
    await store.countImages(jobId, [{ image: image(2), outcome: 'errors' }]);
    assert.ok(await store.claimCompletion(jobId));
    return jobId;
  }

  it('waits, its message held, while the worker that claimed the event dies, and sends it once that claim lapses', async () => {
    eventBridge.on(PutEventsCommand).resolves(accepted);
    const jobId = await jobClaimedByAnother();
    const { waiting, pauses } = waitingProgress();
    // Going back to the queue instead spent the message's receives seconds apart, long before the
    // claim lapsed: the job's last messages ended in the DLQ and its event was never sent.
    await waiting.count({ jobId, ...image(2) }, 'errors');
    assert.equal(eventBridge.commandCalls(PutEventsCommand).length, 1);
    assert.equal((await store.get(jobId))?.completionEvent, 'sent');
    const waited = pauses.reduce((sum, ms) => sum + ms, 0);
    assert.ok(
      waited >= COMPLETION_CLAIM_MS && waited <= COMPLETION_CLAIM_MS + 2 * CLAIM_POLL_MS,
      `waited ${waited} ms`,
    );
  });

  it('waits for a claimant that is alive to send the event, and sends none itself', async () => {
    eventBridge.on(PutEventsCommand).resolves(accepted);
    const jobId = await jobClaimedByAnother();
    const { waiting, pauses } = waitingProgress(async () => {
      const claimed = await store.get(jobId);
      await store.completionSent(claimed!);
    });
    await waiting.count({ jobId, ...image(2) }, 'errors');
    assert.equal(eventBridge.commandCalls(PutEventsCommand).length, 0);
    assert.deepEqual(pauses, [CLAIM_POLL_MS]);
  });

  it(
    'gives up after CLAIM_WAIT_MS if the claim stays held, and the record goes back to the queue',
    { timeout: 20_000 },
    async () => {
      eventBridge.on(PutEventsCommand).resolves(accepted);
      const jobId = await jobClaimedByAnother();
      // Another worker claims it again each time it lapses, and never sends it.
      const { waiting, pauses } = waitingProgress(
        async (clock) => void (await store.claimCompletion(jobId, new Date(clock))),
      );
      await assert.rejects(
        waiting.count({ jobId, ...image(2) }, 'errors'),
        (error: unknown) => error instanceof CompletionPendingError,
      );
      assert.equal(pauses.length, CLAIM_WAIT_MS / CLAIM_POLL_MS);
      assert.equal(eventBridge.commandCalls(PutEventsCommand).length, 0);
    },
  );
});

/**
 * DynamoDB cancels a transaction that meets another writer of one of its items (the job's counter,
 * which every count updates) — which no emulator here reproduces (the embedded one serialises
 * requests): an aws-sdk-client-mock answers with `TransactionCanceledException` and a
 * `TransactionConflict` reason, in the shape the DynamoDB API reference gives.
 */
describe('counting a job’s images when transactions conflict', () => {
  // Mocking the class stubs every instance: only while these tests run.
  let documents: AwsStub<ServiceInputTypes, ServiceOutputTypes, DynamoDBDocumentClientResolvedConfig>;
  before(() => (documents = mockClient(DynamoDBDocumentClient)));
  afterEach(() => documents.reset());
  after(() => documents.restore());
  const conflict = () =>
    new TransactionCanceledException({
      message:
        'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [
        { Code: 'None' },
        { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
      ],
    });
  const store = () =>
    new JobStore(
      new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
      'jobs',
    );
  const one = [{ image: { bucket: 'b', key: 'uploads/x.jpg', etag: 'e' }, outcome: 'stored' as const }];

  it('tries the same transaction again after a conflict, and counts the image once', async () => {
    documents.on(TransactWriteCommand).rejectsOnce(conflict()).resolves({});
    assert.deepEqual(await store().countImages(newJobId(), one), ['counted']);
    const calls = documents.commandCalls(TransactWriteCommand);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]!.args[0].input, calls[0]!.args[0].input, 'the same items, nothing counted twice');
  });

  it('gives up after a bounded number of conflicts, so the message goes back to the queue', async () => {
    documents.on(TransactWriteCommand).rejects(conflict());
    await assert.rejects(store().countImages(newJobId(), one), { name: 'TransactionCanceledException' });
    assert.equal(documents.commandCalls(TransactWriteCommand).length, 8);
  });
});
