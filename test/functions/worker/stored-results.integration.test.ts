import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../common/aws-clients.js';
import { TransientAwsError } from '../../../pipeline/errors.js';
import { ObjectStore, type StoredResultTag } from '../../../pipeline/object-store.js';
import { buildResult } from '../../../pipeline/result-document.js';
import { StoredResultLookup } from '../../../functions/worker/stored-result-lookup.js';
import { LocalAws, type FaultInjector } from '../../../local/local-aws.js';

const MODEL = { sha256: 'a'.repeat(64), pretrained: false, weights: 'test', precision: 'fp32' as const };
const FINGERPRINT = 'f'.repeat(32);

/** The emulator, recording the S3 requests it gets (SQS calls have no bucket and are left out). */
async function startRecording(fault?: FaultInjector) {
  const requests: string[] = [];
  const aws = await LocalAws.start({
    faultInjector: (request) => {
      if (request.bucket)
        requests.push(
          request.key === undefined
            ? `${request.method === 'GET' ? 'LIST' : request.method} ${request.bucket}`
            : `${request.method} ${request.key}`,
        );
      return fault?.(request);
    },
  });
  const s3 = createS3Client(aws.clientOptions({ maxAttempts: 1 }));
  return { aws, s3, store: new ObjectStore(s3), requests };
}

async function storeResult(store: ObjectStore, bucket: string, resultKey: string, etag: string): Promise<void> {
  await store.writeResult(
    bucket,
    resultKey,
    buildResult(
      { source: { bucket, key: resultKey, etag, size: 1 } },
      {
        outcome: { status: 'ok', labels: [] },
        model: MODEL,
        fingerprint: FINGERPRINT,
        device: 'cpu',
        processedAt: new Date(),
        timings: { downloadMs: 0, preprocessMs: 0, inferenceMs: 0, batchSize: 1 },
      },
    ),
    { ifNoneExists: true },
  );
}

const tag = (sourceEtag: string) => ({ sourceEtag, fingerprint: FINGERPRINT });

/** The tags without the result object's own ETag (an MD5 of the stored JSON, different every run), which must be there. */
function withoutResultEtag(found: StoredResultTag | undefined): Omit<StoredResultTag, 'resultEtag'> | undefined {
  if (!found) return undefined;
  const { resultEtag, ...rest } = found;
  assert.match(resultEtag, /^[0-9a-f]{32}$/);
  return rest;
}
const tagsOf = (tags: Map<string, StoredResultTag | undefined>) =>
  Object.fromEntries([...tags].map(([key, found]) => [key, withoutResultEtag(found)]));

describe('stored result lookup against embedded S3', () => {
  let aws: LocalAws | undefined;
  afterEach(async () => {
    await aws?.stop();
    aws = undefined;
  });

  it('answers many keys with one list, and a HEAD only for the results that exist', async () => {
    const recording = await startRecording();
    aws = recording.aws;
    const { store, requests } = recording;
    const bucket = aws.bucket;
    await storeResult(store, bucket, 'results/cats/tabby 1.jpg.json', 'etag-1');
    await storeResult(store, bucket, 'results/cats/ünïcode+plus.jpg.json', 'etag-2');
    await storeResult(store, bucket, 'results/cats/unrelated.jpg.json', 'etag-3');
    requests.length = 0;

    const wanted = [
      'results/cats/tabby 1.jpg.json',
      'results/cats/tabby 2.jpg.json',
      'results/cats/ünïcode+plus.jpg.json',
      'results/dogs/rex.jpg.json',
    ];
    const tags = await store.existingResults(bucket, wanted);

    assert.deepEqual(tagsOf(tags), {
      'results/cats/tabby 1.jpg.json': tag('etag-1'),
      'results/cats/tabby 2.jpg.json': undefined,
      'results/cats/ünïcode+plus.jpg.json': tag('etag-2'),
      'results/dogs/rex.jpg.json': undefined,
    });
    assert.deepEqual(requests.sort(), [
      `HEAD results/cats/tabby 1.jpg.json`,
      `HEAD results/cats/ünïcode+plus.jpg.json`,
      `LIST ${bucket}`,
    ]);
  });

  it('stays right when the page is truncated before reaching every key: those keys get a HEAD', async () => {
    const recording = await startRecording();
    aws = recording.aws;
    const { store, requests } = recording;
    const bucket = aws.bucket;
    // A busy folder: many results sort between the keys asked for.
    for (let i = 0; i < 12; i++)
      await storeResult(store, bucket, `results/busy/${String(i).padStart(2, '0')}.jpg.json`, `etag-${i}`);
    requests.length = 0;

    const wanted = [
      'results/busy/00.jpg.json',
      'results/busy/05a.jpg.json',
      'results/busy/11.jpg.json',
      'results/busy/99.jpg.json',
    ];
    const tags = await store.existingResults(bucket, wanted, 3);

    assert.deepEqual(tagsOf(tags), {
      'results/busy/00.jpg.json': tag('etag-0'),
      'results/busy/05a.jpg.json': undefined,
      'results/busy/11.jpg.json': tag('etag-11'),
      'results/busy/99.jpg.json': undefined,
    });
    assert.equal(
      requests.filter((request) => request.startsWith('LIST')).length,
      1,
      'one page, never a walk through the folder',
    );
    assert.equal(
      requests.filter((request) => request.startsWith('HEAD')).length,
      4,
      'the truncated page leaves every key to a HEAD',
    );
  });

  it('gathers the lookups of one tick into one list per bucket', async () => {
    const recording = await startRecording();
    aws = recording.aws;
    const { s3, store, requests } = recording;
    const bucket = aws.bucket;
    await s3.send(new CreateBucketCommand({ Bucket: 'second-bucket' }));
    await storeResult(store, bucket, 'results/a.jpg.json', 'etag-a');
    await storeResult(store, 'second-bucket', 'results/a.jpg.json', 'etag-second');
    requests.length = 0;

    const lookup = new StoredResultLookup(store);
    const answers = await Promise.all([
      lookup.find(bucket, 'results/a.jpg.json'),
      lookup.find(bucket, 'results/b.jpg.json'),
      lookup.find(bucket, 'results/c.jpg.json'),
      lookup.find('second-bucket', 'results/a.jpg.json'),
      lookup.find('second-bucket', 'results/z.jpg.json'),
    ]);

    assert.deepEqual(answers.map(withoutResultEtag), [
      tag('etag-a'),
      undefined,
      undefined,
      tag('etag-second'),
      undefined,
    ]);
    assert.deepEqual(requests.filter((request) => request.startsWith('LIST')).sort(), [
      `LIST ${bucket}`,
      'LIST second-bucket',
    ]);
    assert.equal(requests.filter((request) => request.startsWith('HEAD')).length, 2);
  });

  it('sends a single lookup as one HEAD, and turns an S3 failure into a transient error', async () => {
    let failing = false;
    const recording = await startRecording(() => (failing ? 503 : undefined));
    aws = recording.aws;
    const { store, requests } = recording;
    const lookup = new StoredResultLookup(store);
    requests.length = 0;

    assert.equal(await lookup.find(aws.bucket, 'results/alone.jpg.json'), undefined);
    assert.deepEqual(requests, ['HEAD results/alone.jpg.json']);

    failing = true;
    const failed = await Promise.allSettled([
      lookup.find(aws.bucket, 'results/x.jpg.json'),
      lookup.find(aws.bucket, 'results/y.jpg.json'),
    ]);
    for (const outcome of failed) {
      assert.equal(outcome.status, 'rejected');
      assert.ok(
        (outcome as PromiseRejectedResult).reason instanceof TransientAwsError,
        'the message goes back to the queue',
      );
    }
  });
});
