import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createSqsClient } from '../../common/aws-clients.js';
import { describeDeadLetters } from '../../faults/dead-letter-diagnosis.js';
import { LocalAws } from '../../local/local-aws.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

describe('describeDeadLetters: why a fault scenario left messages in the DLQ', () => {
  let aws: LocalAws;
  let sqs: SQSClient;
  before(async () => {
    aws = await LocalAws.start();
    sqs = createSqsClient(aws.clientOptions());
  });
  after(async () => {
    sqs.destroy();
    await aws.stop();
  });

  it("names each message's receives and keys, shows the log lines that name it, and leaves it in the queue", async () => {
    const key = 'uploads/faults/7-chelsea.jpg';
    const body = JSON.stringify({ Records: [{ eventSource: 'aws:s3', s3: { object: { key } } }] });
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: body }));
    await sqs.send(new SendMessageCommand({ QueueUrl: aws.dlqUrl, MessageBody: 'not json' }));
    // Received once before, as the queue would have done before moving it.
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
    const logFile = path.join(temporaryFolder('alexnet-dead-letters-'), 'worker-0.log');
    await writeFile(
      logFile,
      [
        `{"msg":"transient failure; the message goes back to the queue","key":"${key}"}`,
        '{"msg":"batch classified","images":4}',
        `{"msg":"message failed; it goes back to the queue","messageId":"${MessageId}"}`,
      ].join('\n'),
    );

    const descriptions = await describeDeadLetters(sqs, aws.dlqUrl, [logFile, `${logFile}.missing`]);

    const ours = descriptions.find((description) => description.includes(MessageId!));
    assert.ok(ours, descriptions.join('\n---\n'));
    const [heading, ...lines] = ours.split('\n');
    assert.match(heading!, new RegExp(`^dead-lettered ${MessageId}: received [2-9] times, keys ${key}$`));
    assert.deepEqual(
      lines.map((line) => line.replace(/^ {2}worker-0\.log: /, '')),
      [
        `{"msg":"transient failure; the message goes back to the queue","key":"${key}"}`,
        `{"msg":"message failed; it goes back to the queue","messageId":"${MessageId}"}`,
      ],
    );
    const other = descriptions.find((description) => description !== ours);
    assert.match(other ?? '', /^dead-lettered \S+: received \d+ times, keys \(none\)$/);
    // Looked at, not deleted: a second look finds both again, each received once more.
    const again = await describeDeadLetters(sqs, aws.dlqUrl, []);
    assert.equal(again.length, 2, again.join('\n'));
    assert.ok(
      again.some((description) =>
        description.startsWith(heading!.replace(/received (\d) times/, (_, n) => `received ${Number(n) + 1} times`)),
      ),
    );
  });
});
