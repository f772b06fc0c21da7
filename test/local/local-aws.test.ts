import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3Client } from '@aws-sdk/client-s3';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, createSqsClient } from '../../common/aws-clients.js';
import { LocalAws } from '../../local/local-aws.js';
import { readFixtureImage } from '../helpers/shared-fixtures.js';

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
