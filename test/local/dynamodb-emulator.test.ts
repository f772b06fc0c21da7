import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../common/dynamodb-client.js';
import { LocalAws } from '../../local/local-aws.js';
import { provisionJobsTable } from '../../local/dynamodb/jobs-table.js';
import { JobAlreadyRunningError } from '../../pipeline/jobs/job-errors.js';
import { JobStore } from '../../pipeline/jobs/job-store.js';
import { newJobId } from '../../pipeline/jobs/job-table.js';
import { noMoto, startMoto } from '../helpers/moto-server.js';

/**
 * What the job state relies on DynamoDB for, asked of the embedded DynamoDB (dynalite behind the
 * project's transaction glue, on LocalAws's endpoint) and of moto's server where present — the same
 * scenarios, real SDK clients over HTTP, so the embedded one is held to what AWS answers.
 */
function dynamoDbScenarios(
  connect: () => Promise<{ dynamo: DynamoDBClient; table: string; stop(): Promise<void> }>,
  /** Whether the server checks a condition and writes as one step, as DynamoDB does (see moto's below). */
  { atomicConditionalWrites }: { atomicConditionalWrites: boolean },
) {
  let dynamo: DynamoDBClient;
  let table: string;
  let stop: () => Promise<void>;
  const item = async (pk: string) =>
    (
      await dynamo.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: 'x' } }, ConsistentRead: true }),
      )
    ).Item;

  before(async () => ({ dynamo, table, stop } = await connect()));
  after(() => stop());

  it('refuses a conditional write whose condition fails (ConditionalCheckFailedException)', async () => {
    const put = new PutItemCommand({
      TableName: table,
      Item: { pk: { S: 'once' }, sk: { S: 'x' } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    await dynamo.send(put);
    await assert.rejects(dynamo.send(put), { name: 'ConditionalCheckFailedException' });
  });

  it('cancels a whole transaction when one condition fails, with a reason per item in order, and writes nothing', async () => {
    await dynamo.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: 'counter' }, sk: { S: 'x' }, n: { N: '5' } } }),
    );
    const error = await dynamo
      .send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: table, Item: { pk: { S: 'new-item' }, sk: { S: 'x' } } } },
            {
              Update: {
                TableName: table,
                Key: { pk: { S: 'counter' }, sk: { S: 'x' } },
                UpdateExpression: 'ADD n :one',
                ConditionExpression: 'n > :ten',
                ExpressionAttributeValues: { ':one': { N: '1' }, ':ten': { N: '10' } },
              },
            },
          ],
        }),
      )
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    assert.ok(error instanceof TransactionCanceledException, `a TransactionCanceledException, got ${String(error)}`);
    assert.deepEqual(
      error.CancellationReasons?.map((reason) => reason.Code),
      ['None', 'ConditionalCheckFailed'],
    );
    assert.equal(await item('new-item'), undefined, 'the first item of the cancelled transaction is not written');
    assert.equal((await item('counter'))?.n?.N, '5');
  });

  it('applies every write of a transaction whose conditions hold; a condition check writes nothing', async () => {
    await dynamo.send(
      new PutItemCommand({ TableName: table, Item: { pk: { S: 'checked' }, sk: { S: 'x' }, v: { S: 'kept' } } }),
    );
    await dynamo.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          {
            Put: {
              TableName: table,
              Item: { pk: { S: 'made' }, sk: { S: 'x' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Update: {
              TableName: table,
              Key: { pk: { S: 'tally' }, sk: { S: 'x' } },
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': { N: '1' } },
            },
          },
          {
            ConditionCheck: {
              TableName: table,
              Key: { pk: { S: 'checked' }, sk: { S: 'x' } },
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
        ],
      }),
    );
    assert.ok(await item('made'));
    assert.equal((await item('tally'))?.n?.N, '1');
    assert.equal((await item('checked'))?.v?.S, 'kept');
  });

  it('refuses two operations on one item in a transaction (ValidationException)', async () => {
    const key = { pk: { S: 'twice' }, sk: { S: 'x' } };
    await assert.rejects(
      dynamo.send(
        new TransactWriteItemsCommand({
          TransactItems: [{ Put: { TableName: table, Item: key } }, { Delete: { TableName: table, Key: key } }],
        }),
      ),
      { name: 'ValidationException' },
    );
  });

  it('counts each image of a job once however often it is counted, and lets one of many concurrent callers claim the completion', async () => {
    const store = new JobStore(dynamo, table);
    const id = newJobId();
    const source = { bucket: 'photos', prefix: 'uploads/a/' };
    await store.create({ id, source, manifestKey: `m/${id}`, createdAt: new Date() });
    await assert.rejects(
      store.create({ id: newJobId(), source, manifestKey: 'm', createdAt: new Date() }),
      (error: unknown) => error instanceof JobAlreadyRunningError && error.runningJobId === id,
    );
    await store.listingFinished(id, 7, 700);
    const image = (n: number) => ({ bucket: 'photos', key: `uploads/a/${n}.jpg`, etag: `etag-${n}` });
    // Image 0 three times in one count (a message and its redelivery together), 1–4 stored (2 was
    // stored already: not computed again), 5 an error result.
    const first = await store.countImages(id, [
      ...Array.from({ length: 3 }, () => ({ image: image(0), outcome: 'stored' as const })),
      ...[1, 2, 3, 4].map((n) => ({ image: image(n), outcome: 'stored' as const, alreadyStored: n === 2 })),
      { image: image(5), outcome: 'errors' },
    ]);
    assert.deepEqual(first, [
      'counted',
      'already-counted',
      'already-counted',
      'counted',
      'counted',
      'counted',
      'counted',
      'counted',
    ]);
    // Redelivered later beside a new one: the counted ones cancel the transaction, the new one is counted alone.
    const second = await store.countImages(id, [
      { image: image(0), outcome: 'stored' },
      { image: image(6), outcome: 'skipped' },
      { image: image(3), outcome: 'stored', alreadyStored: true },
    ]);
    assert.deepEqual(second, ['already-counted', 'counted', 'already-counted']);
    const job = await store.get(id);
    assert.deepEqual(
      [job?.done, job?.stored, job?.errors, job?.skipped, job?.alreadyStored, job?.total],
      [7, 5, 1, 1, 1, 7],
      'an image counted once, as it was first counted',
    );
    const claim = () => store.claimCompletion(id);
    const claims = atomicConditionalWrites
      ? await Promise.all(Array.from({ length: 5 }, claim))
      : [await claim(), await claim(), await claim()];
    assert.equal(claims.filter(Boolean).length, 1, 'exactly one caller claims the completion event');
    await store.completionSent(claims.find(Boolean)!);
    assert.equal(
      await store.claimCompletion(id, new Date(Date.now() + 10 * 60_000)),
      undefined,
      'a sent event is never claimed again',
    );
    // The prefix is free again once its job has completed.
    await store.create({ id: newJobId(), source, manifestKey: 'm2', createdAt: new Date() });
  });

  it('keeps the fingerprint of the worker that started last; an earlier clock does not overwrite it', async () => {
    const store = new JobStore(dynamo, table);
    const started = (fingerprint: string, startedAt: string) =>
      store.recordWorkerFingerprint({ fingerprint, modelSha256: `sha-${fingerprint}`, startedAt });
    await started('a'.repeat(32), '2026-12-06T10:00:00.000Z');
    await started('b'.repeat(32), '2026-12-06T11:00:00.000Z');
    await started('c'.repeat(32), '2026-12-06T10:30:00.000Z');
    assert.deepEqual(await store.workerFingerprint(), {
      fingerprint: 'b'.repeat(32),
      modelSha256: `sha-${'b'.repeat(32)}`,
      startedAt: '2026-12-06T11:00:00.000Z',
    });
  });
}

describe('embedded DynamoDB (dynalite + transaction glue, on the emulator endpoint)', () => {
  dynamoDbScenarios(
    async () => {
      const aws = await LocalAws.start();
      const dynamo = createDynamoDbClient(aws.clientOptions());
      return {
        dynamo,
        table: aws.jobsTable,
        async stop() {
          dynamo.destroy();
          await aws.stop();
        },
      };
    },
    { atomicConditionalWrites: true },
  );

  it('refuses a request signed with another access key, as DynamoDB does (UnrecognizedClientException)', async () => {
    const aws = await LocalAws.start();
    const stranger = createDynamoDbClient({
      ...aws.clientOptions(),
      credentials: { accessKeyId: 'someone-else', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    try {
      await assert.rejects(
        stranger.send(new GetItemCommand({ TableName: aws.jobsTable, Key: { pk: { S: 'a' }, sk: { S: 'b' } } })),
        { name: 'UnrecognizedClientException' },
      );
    } finally {
      stranger.destroy();
      await aws.stop();
    }
  });
});

describe('moto server DynamoDB (the same scenarios, cross-check)', { skip: noMoto }, () => {
  // moto's server answers requests on threads and checks a condition apart from the write it
  // guards: two of five concurrent claims both won there once (a CI run at issue 25). DynamoDB and
  // the embedded emulator serialise them, and the concurrent form runs against the embedded one;
  // here the claims go one after another, which still holds the condition's meaning to moto's.
  dynamoDbScenarios(
    async () => {
      const moto = await startMoto();
      const clientOptions = {
        endpoint: moto.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      };
      await provisionJobsTable(clientOptions, 'jobs');
      const dynamo = createDynamoDbClient(clientOptions);
      return {
        dynamo,
        table: 'jobs',
        async stop() {
          dynamo.destroy();
          await moto.stop();
        },
      };
    },
    { atomicConditionalWrites: false },
  );
});
