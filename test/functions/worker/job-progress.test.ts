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
import { CompletionPendingError, JobProgress } from '../../../functions/worker/job-progress.js';
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

  it('keeps the record of a job whose event another worker claimed until it is sent, and sends it once that claim lapses', async () => {
    eventBridge.on(PutEventsCommand).resolves(accepted);
    const jobId = await jobOfTwo();
    await progress().count({ jobId, ...image(1) }, 'stored');
    await store.countImages(jobId, [{ image: image(2), outcome: 'errors' }]);
    // A worker claimed the event and died before sending it.
    assert.ok(await store.claimCompletion(jobId));
    await assert.rejects(
      progress().count({ jobId, ...image(2) }, 'errors'),
      (error: unknown) => error instanceof CompletionPendingError,
      'the record goes back to the queue while the claim is fresh',
    );
    assert.equal(eventBridge.commandCalls(PutEventsCommand).length, 0);
    // Its claim lapses: a delivery after COMPLETION_CLAIM_MS sends the event.
    await progress(() => new Date(Date.now() + COMPLETION_CLAIM_MS + 1000)).count({ jobId, ...image(2) }, 'errors');
    assert.equal(eventBridge.commandCalls(PutEventsCommand).length, 1);
    assert.equal((await store.get(jobId))?.completionEvent, 'sent');
  });
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
