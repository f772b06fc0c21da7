import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectAclCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import { listKeys } from '../../pipeline/s3-operations.js';
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { LocalAws } from '../../local/local-aws.js';
import { compareSequencers } from '../../pipeline/s3-event.js';
import { readFixtureImage } from '../helpers/fixtures.js';

describe('LocalAws: embedded S3 and SQS with S3 notifications', () => {
  let aws: LocalAws;
  let s3: S3Client;
  let sqs: SQSClient;
  before(async () => {
    aws = await LocalAws.start();
    s3 = createS3Client(aws.clientOptions());
    sqs = createSqsClient(aws.clientOptions());
  });
  after(async () => {
    s3.destroy();
    sqs.destroy();
    await aws.stop();
  });

  const receiveAll = async () => {
    const bodies: Array<Record<string, any>> = [];
    for (;;) {
      const response = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (!response.Messages?.length) return bodies;
      bodies.push(...response.Messages.map((message) => JSON.parse(message.Body!)));
    }
  };

  it('listens on loopback only', () => {
    assert.match(aws.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('sends the s3:TestEvent when notifications are configured, then ObjectCreated events in AWS format for uploads only', async () => {
    const image = readFixtureImage('chelsea.jpg');
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'uploads/cats/tabby 1+2.jpg', Body: image }));
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'uploads/notes.txt', Body: 'not an image' }));
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'results/cats/tabby.jpg.json', Body: '{}' }));
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'elsewhere/photo.jpg', Body: image }));
    const big = Buffer.alloc(6 * 1024 * 1024, 7);
    await new Upload({
      client: s3,
      params: { Bucket: aws.bucket, Key: 'uploads/big.PNG', Body: big },
      partSize: 5 * 1024 * 1024,
    }).done();
    await aws.notificationsDelivered();

    const bodies = await receiveAll();
    assert.equal(bodies[0]!.Event, 's3:TestEvent');
    assert.equal(bodies[0]!.Bucket, aws.bucket);
    const records = bodies.slice(1).map((body) => body.Records[0]);
    assert.deepEqual(
      records.map((r) => r.s3.object.key),
      ['uploads/cats/tabby+1%2B2.jpg', 'uploads/notes.txt', 'uploads/big.PNG'],
      'everything below uploads/, as the stack configures S3',
    );
    const [put, , multipart] = records;
    assert.equal(put.eventVersion, '2.1');
    assert.equal(put.eventSource, 'aws:s3');
    assert.equal(put.eventName, 'ObjectCreated:Put');
    assert.equal(put.awsRegion, 'us-east-1');
    assert.equal(put.s3.bucket.name, aws.bucket);
    assert.equal(put.s3.bucket.arn, `arn:aws:s3:::${aws.bucket}`);
    assert.equal(put.s3.object.size, image.length);
    assert.match(put.s3.object.eTag, /^[0-9a-f]{32}$/);
    assert.equal(multipart.eventName, 'ObjectCreated:CompleteMultipartUpload');
    assert.equal(multipart.s3.object.size, big.length);
  });

  it('gives the environment a second terminal needs', () => {
    const environment = aws.environment();
    assert.equal(environment.AWS_ENDPOINT_URL, aws.endpoint);
    assert.equal(environment.BUCKET_NAME, aws.bucket);
    assert.equal(environment.QUEUE_URL, aws.queueUrl);
    assert.equal(environment.DLQ_URL, aws.dlqUrl);
  });
});

describe('LocalAws: writes that are not uploads, keys XML cannot carry, and who may use it', () => {
  let aws: LocalAws;
  let s3: S3Client;
  let sqs: SQSClient;
  before(async () => {
    aws = await LocalAws.start({ credentials: 'random' });
    s3 = createS3Client(aws.clientOptions());
    sqs = createSqsClient(aws.clientOptions());
  });
  after(async () => {
    s3.destroy();
    sqs.destroy();
    await aws.stop();
  });
  const drain = async () => {
    await aws.notificationsDelivered();
    const names: string[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) return names;
      for (const message of Messages) {
        const body = JSON.parse(message.Body!);
        if (body.Records) names.push(`${body.Records[0].eventName} ${body.Records[0].s3.object.key}`);
        await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  };

  it('refuses PutObjectAcl and PutObjectTagging (the emulator would overwrite the object), and notifies only for real writes with S3’s event names', async () => {
    const image = readFixtureImage('coffee.jpg');
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'uploads/keep.jpg', Body: image }));
    await assert.rejects(
      s3.send(new PutObjectAclCommand({ Bucket: aws.bucket, Key: 'uploads/keep.jpg', ACL: 'private' })),
      (error: unknown) =>
        (error as { name?: string }).name === 'NotImplemented' &&
        /PUT \?acl is not supported by the local emulator/.test((error as Error).message),
    );
    await assert.rejects(
      s3.send(
        new PutObjectTaggingCommand({
          Bucket: aws.bucket,
          Key: 'uploads/keep.jpg',
          Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] },
        }),
      ),
      { name: 'NotImplemented' },
    );
    assert.equal(
      (await s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'uploads/keep.jpg' }))).ContentLength,
      image.length,
      'the object is untouched',
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: aws.bucket,
        Key: 'uploads/copy.jpg',
        CopySource: `${aws.bucket}/uploads/keep.jpg`,
      }),
    );
    assert.deepEqual(await drain(), ['ObjectCreated:Put uploads/keep.jpg', 'ObjectCreated:Copy uploads/copy.jpg']);
  });

  it('lists a key holding a carriage return byte for byte (EncodingType=url, as S3 does)', async () => {
    const key = 'uploads/line\rbreak.jpg';
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'x' }));
    assert.ok((await listKeys(s3, aws.bucket, 'uploads/line')).includes(key));
    const raw = await s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: 'uploads/line' }));
    assert.notEqual(
      raw.Contents?.[0]?.Key,
      key,
      'without the encoding, XML turns \\r into \\n: the reason listings ask for it',
    );
  });

  it('refuses requests signed with any other access key, or none', async () => {
    assert.match(aws.credentials.accessKeyId, /^ALEXLOCAL[0-9A-F]{16}$/);
    const intruder = createS3Client(
      aws.clientOptions({ credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 }),
    );
    await assert.rejects(intruder.send(new ListObjectsV2Command({ Bucket: aws.bucket })), {
      name: 'InvalidAccessKeyId',
    });
    const intruderQueue = createSqsClient(
      aws.clientOptions({ credentials: { accessKeyId: 'someone-else', secretAccessKey: 'x' }, maxAttempts: 1 }),
    );
    await assert.rejects(intruderQueue.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl })), (error: unknown) =>
      /not this local pipeline's/.test((error as Error).message),
    );
    const anonymous = await fetch(`${aws.endpoint}/${aws.bucket}?list-type=2`);
    assert.equal(anonymous.status, 403);
  });
});

describe('LocalAws: conditional writes as S3 answers them, and writes to one key in order', () => {
  let aws: LocalAws;
  let s3: S3Client;
  let sqs: SQSClient;
  before(async () => {
    aws = await LocalAws.start();
    s3 = createS3Client(aws.clientOptions({ maxAttempts: 1 }));
    sqs = createSqsClient(aws.clientOptions());
  });
  after(async () => {
    s3.destroy();
    sqs.destroy();
    await aws.stop();
  });
  const put = (key: string, body: string, condition: { IfNoneMatch?: string; IfMatch?: string } = {}) =>
    s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: body, ...condition }));
  /** A validator for assert.rejects: the S3 error name and HTTP status. */
  const refusedWith = (name: string, status: number) => (error: unknown) => {
    assert.deepEqual(
      [
        (error as { name?: string }).name,
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
      ],
      [name, status],
    );
    return true;
  };
  const bodyOf = async (key: string) =>
    (await s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key }))).Body!.transformToString();

  it('If-None-Match: * writes only where nothing is; If-Match only over that ETag (412), and not where nothing is (404)', async () => {
    const first = await put('results/a.json', 'first', { IfNoneMatch: '*' });
    await assert.rejects(put('results/a.json', 'second', { IfNoneMatch: '*' }), refusedWith('PreconditionFailed', 412));
    await assert.rejects(
      put('results/a.json', 'third', { IfMatch: '"0123456789abcdef0123456789abcdef"' }),
      refusedWith('PreconditionFailed', 412),
    );
    assert.equal(await bodyOf('results/a.json'), 'first', 'nothing refused was written');
    await put('results/a.json', 'fourth', { IfMatch: first.ETag! });
    assert.equal(await bodyOf('results/a.json'), 'fourth');
    await assert.rejects(put('results/never.json', 'x', { IfMatch: first.ETag! }), refusedWith('NoSuchKey', 404));
  });

  it('lets exactly one of many racing If-None-Match writers win, and one of many If-Match writers holding the same ETag', async () => {
    const created = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => put('results/race.json', `writer ${i}`, { IfNoneMatch: '*' })),
    );
    assert.equal(created.filter((outcome) => outcome.status === 'fulfilled').length, 1);
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'results/race.json' }));
    const replaced = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => put('results/race.json', `replacer ${i}`, { IfMatch: ETag! })),
    );
    assert.equal(replaced.filter((outcome) => outcome.status === 'fulfilled').length, 1);
  });

  it('does not let a write whose body stops coming hold its key for longer than the write lock time', async () => {
    const stalling = await LocalAws.start({ writeLockMs: 500 });
    const client = createS3Client(stalling.clientOptions({ maxAttempts: 1 }));
    const socket = connect(Number(new URL(stalling.endpoint).port), '127.0.0.1');
    try {
      // A signed-looking PUT of 1,000 bytes that sends 10 and stops: it takes the key's lock.
      socket.write(
        `PUT /${stalling.bucket}/results/stalled.json HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: AWS4-HMAC-SHA256 Credential=local/20261205/us-east-1/s3/aws4_request\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\n\r\n0123456789`,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      const written = client
        .send(new PutObjectCommand({ Bucket: stalling.bucket, Key: 'results/stalled.json', Body: 'another writer' }))
        .then(() => 'written');
      assert.equal(
        await Promise.race([written, new Promise((resolve) => setTimeout(resolve, 5_000, 'still waiting after 5 s'))]),
        'written',
      );
    } finally {
      socket.destroy();
      client.destroy();
      await stalling.stop();
    }
  });

  it('gives the writes to one key growing sequencers, each event with the ETag of its own write', async () => {
    await aws.notificationsDelivered();
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: aws.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    const etags = new Set(
      (await Promise.all(Array.from({ length: 8 }, (_, i) => put('uploads/rewritten.jpg', `version ${i}`)))).map(
        (written) => written.ETag!.replace(/"/g, ''),
      ),
    );
    await aws.notificationsDelivered();
    const events: Array<{ eTag: string; sequencer: string }> = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) break;
      events.push(...Messages.map((message) => JSON.parse(message.Body!).Records[0].s3.object));
    }
    assert.equal(events.length, 8);
    assert.deepEqual(
      new Set(events.map((event) => event.eTag)),
      etags,
      'each write has its own event, with its own ETag',
    );
    const newest = events.reduce((a, b) => (compareSequencers(a.sequencer, b.sequencer) > 0 ? a : b));
    const { ETag } = await s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'uploads/rewritten.jpg' }));
    assert.equal(newest.eTag, ETag!.replace(/"/g, ''), 'the greatest sequencer is the write that stayed');
  });
});
