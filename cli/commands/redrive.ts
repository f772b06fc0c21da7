import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { Command } from 'commander';
import type { Logger } from '../../common/logger.js';
import { explainAwsError } from '../aws-errors.js';
import { addTargetOptions, resolveTarget, type TargetOptions } from '../target.js';

/**
 * `redrive`: moves dead-lettered messages back to the main queue. Works the same on AWS and on the
 * local emulator: receive from the DLQ, send to the queue, and delete from the DLQ only what was sent.
 */
export function redriveCommand(logger: Logger): Command {
  const command = new Command('redrive').description('move dead-lettered messages back to the main queue');
  addTargetOptions(command).action(async (options: TargetOptions) => {
    const target = await resolveTarget(options, ['queue', 'dlq']);
    let moved = 0;
    try {
      for (;;) {
        const received = await target.sqs.send(new ReceiveMessageCommand({ QueueUrl: target.dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30 }));
        const messages = received.Messages ?? [];
        if (messages.length === 0) break;
        const sent = await target.sqs.send(
          new SendMessageBatchCommand({ QueueUrl: target.queueUrl, Entries: messages.map((message, i) => ({ Id: String(i), MessageBody: message.Body ?? '' })) }),
        );
        const sentIds = new Set((sent.Successful ?? []).map((entry) => entry.Id));
        for (const failure of sent.Failed ?? []) logger.warn({ messageId: messages[Number(failure.Id)]?.MessageId, code: failure.Code }, 'message not moved; it stays in the DLQ');
        const toDelete = messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })).filter((entry) => sentIds.has(entry.Id));
        if (toDelete.length > 0) await target.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: target.dlqUrl, Entries: toDelete }));
        moved += toDelete.length;
      }
    } catch (error) {
      throw explainAwsError(error, { queueUrl: target.dlqUrl, endpoint: target.endpoint });
    }
    process.stdout.write(`moved ${moved} message${moved === 1 ? '' : 's'} from the dead-letter queue to the queue\n`);
  });
  return command;
}
