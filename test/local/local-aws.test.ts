import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Client } from '@aws-sdk/client-s3';
import { CopyObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectAclCommand, PutObjectCommand, PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { listKeys } from '../../cli/bucket-reader.js';
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { LocalAws } from '../../local/local-aws.js';
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
      const response = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
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
    await new Upload({ client: s3, params: { Bucket: aws.bucket, Key: 'uploads/big.PNG', Body: big }, partSize: 5 * 1024 * 1024 }).done();
    await aws.notificationsDelivered();

    const bodies = await receiveAll();
    assert.equal(bodies[0]!.Event, 's3:TestEvent');
    assert.equal(bodies[0]!.Bucket, aws.bucket);
    const records = bodies.slice(1).map((body) => body.Records[0]);
    assert.deepEqual(records.map((r) => r.s3.object.key), ['uploads/cats/tabby+1%2B2.jpg', 'uploads/big.PNG']);
    const [put, multipart] = records;
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
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
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
    await assert.rejects(s3.send(new PutObjectAclCommand({ Bucket: aws.bucket, Key: 'uploads/keep.jpg', ACL: 'private' })), (error: unknown) => (error as { name?: string }).name === 'NotImplemented' && /PUT \?acl is not supported by the local emulator/.test((error as Error).message));
    await assert.rejects(s3.send(new PutObjectTaggingCommand({ Bucket: aws.bucket, Key: 'uploads/keep.jpg', Tagging: { TagSet: [{ Key: 'k', Value: 'v' }] } })), { name: 'NotImplemented' });
    assert.equal((await s3.send(new HeadObjectCommand({ Bucket: aws.bucket, Key: 'uploads/keep.jpg' }))).ContentLength, image.length, 'the object is untouched');
    await s3.send(new CopyObjectCommand({ Bucket: aws.bucket, Key: 'uploads/copy.jpg', CopySource: `${aws.bucket}/uploads/keep.jpg` }));
    assert.deepEqual(await drain(), ['ObjectCreated:Put uploads/keep.jpg', 'ObjectCreated:Copy uploads/copy.jpg']);
  });

  it('lists a key holding a carriage return byte for byte (EncodingType=url, as S3 does)', async () => {
    const key = 'uploads/line\rbreak.jpg';
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'x' }));
    assert.ok((await listKeys(s3, aws.bucket, 'uploads/line')).includes(key));
    const raw = await s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: 'uploads/line' }));
    assert.notEqual(raw.Contents?.[0]?.Key, key, 'without the encoding, XML turns \\r into \\n: the reason listings ask for it');
  });

  it('refuses requests signed with any other access key, or none', async () => {
    assert.match(aws.credentials.accessKeyId, /^ALEXLOCAL[0-9A-F]{16}$/);
    const intruder = createS3Client(aws.clientOptions({ credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 }));
    await assert.rejects(intruder.send(new ListObjectsV2Command({ Bucket: aws.bucket })), { name: 'InvalidAccessKeyId' });
    const intruderQueue = createSqsClient(aws.clientOptions({ credentials: { accessKeyId: 'someone-else', secretAccessKey: 'x' }, maxAttempts: 1 }));
    await assert.rejects(intruderQueue.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl })), (error: unknown) => /not this local pipeline's/.test((error as Error).message));
    const anonymous = await fetch(`${aws.endpoint}/${aws.bucket}?list-type=2`);
    assert.equal(anonymous.status, 403);
  });
});
