import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { silentLogger } from '../../../common/logger.js';
import { MessageLease } from '../../../functions/worker/message-lease.js';
import { MessageDeleter } from '../../../functions/worker/queue-operations.js';

/**
 * A stand-in SQS that applies each call when it "arrives", after a per-call latency, and records
 * the visibility each receipt handle ends with: the race it models is a heartbeat sent before a
 * retry but landing after it.
 */
function fakeSqs(latencyMs: (command: string, input: Record<string, unknown>) => number) {
  const visibility = new Map<string, number>();
  const calls: Array<{ command: string; receiptHandle?: string; seconds?: number }> = [];
  const client = {
    async send(command: { constructor: { name: string }; input: Record<string, any> }) {
      const name = command.constructor.name;
      await sleep(latencyMs(name, command.input));
      if (name === 'ChangeMessageVisibilityCommand') {
        visibility.set(command.input.ReceiptHandle, command.input.VisibilityTimeout);
        calls.push({
          command: name,
          receiptHandle: command.input.ReceiptHandle,
          seconds: command.input.VisibilityTimeout,
        });
        return {};
      }
      if (name === 'DeleteMessageBatchCommand') {
        for (const entry of command.input.Entries) calls.push({ command: name, receiptHandle: entry.ReceiptHandle });
        return { Successful: command.input.Entries.map((entry: { Id: string }) => ({ Id: entry.Id })), Failed: [] };
      }
      calls.push({ command: name });
      return {};
    },
  } as unknown as SQSClient;
  return { client, visibility, calls };
}

function lease(sqs: SQSClient, receiptHandle: string, heartbeatIntervalSeconds = 0.05) {
  return new MessageLease(
    {
      MessageId: 'same-message',
      ReceiptHandle: receiptHandle,
      Body: '{}',
      Attributes: { ApproximateReceiveCount: '1' },
    },
    {
      sqs,
      queueUrl: 'q',
      deleter: new MessageDeleter(sqs, 'q', silentLogger, 1),
      visibilityTimeoutSeconds: 60,
      heartbeatIntervalSeconds,
      retryDelaySeconds: 5,
      logger: silentLogger,
    },
  ).start();
}

describe('MessageLease', () => {
  it('keeps a retry delay: a heartbeat already under way lands before it, none starts after it', async () => {
    // Heartbeats take 80 ms to land; the retry lands at once.
    const sqs = fakeSqs((command, input) =>
      command === 'ChangeMessageVisibilityCommand' && input.VisibilityTimeout === 60 ? 80 : 0,
    );
    const held = lease(sqs.client, 'handle-1');
    await sleep(70); // the first heartbeat (at 50 ms) is in flight
    await held.end('retry');
    await sleep(200); // two more heartbeat intervals
    assert.equal(sqs.visibility.get('handle-1'), 5, 'the message comes back after the retry delay, not after 60 s');
    assert.deepEqual(
      sqs.calls.map((call) => call.seconds),
      [60, 5],
    );
  });

  it('ends once: a later end (a shutdown release after the handler decided) changes nothing', async () => {
    const sqs = fakeSqs(() => 0);
    const held = lease(sqs.client, 'handle-1', 10);
    await Promise.all([held.end('release'), held.end('retry')]);
    await held.end('delete');
    assert.deepEqual(sqs.calls, [{ command: 'ChangeMessageVisibilityCommand', receiptHandle: 'handle-1', seconds: 0 }]);
  });

  it('gives two deliveries of one message two leases: ending one leaves the other’s heartbeat, each deletes its own handle', async () => {
    const sqs = fakeSqs(() => 0);
    const first = lease(sqs.client, 'handle-1');
    const second = lease(sqs.client, 'handle-2');
    await first.end('delete');
    const heartbeatsBefore = sqs.calls.filter((call) => call.receiptHandle === 'handle-2').length;
    await sleep(120);
    assert.ok(
      sqs.calls.filter((call) => call.receiptHandle === 'handle-2').length > heartbeatsBefore,
      'the second delivery is still kept invisible',
    );
    await second.end('delete');
    const deletes = sqs.calls
      .filter((call) => call.command === 'DeleteMessageBatchCommand')
      .map((call) => call.receiptHandle);
    assert.deepEqual(deletes, ['handle-1', 'handle-2']);
    const afterEnd = sqs.calls.length;
    await sleep(120);
    assert.equal(sqs.calls.length, afterEnd, 'no heartbeat after the end');
  });

  it('sends a dead-lettered message to the DLQ, then deletes it; without a DLQ it releases it for the redrive policy', async () => {
    const sqs = fakeSqs(() => 0);
    const options = {
      sqs: sqs.client,
      queueUrl: 'q',
      deleter: new MessageDeleter(sqs.client, 'q', silentLogger, 1),
      visibilityTimeoutSeconds: 60,
      heartbeatIntervalSeconds: 10,
      retryDelaySeconds: 5,
      logger: silentLogger,
    };
    await new MessageLease(
      { MessageId: 'm', ReceiptHandle: 'h-dlq', Body: 'not json' },
      { ...options, deadLetterQueueUrl: 'dlq' },
    )
      .start()
      .end('dead-letter');
    await new MessageLease({ MessageId: 'm', ReceiptHandle: 'h-none', Body: 'not json' }, options)
      .start()
      .end('dead-letter');
    assert.deepEqual(sqs.calls, [
      { command: 'SendMessageCommand' },
      { command: 'DeleteMessageBatchCommand', receiptHandle: 'h-dlq' },
      { command: 'ChangeMessageVisibilityCommand', receiptHandle: 'h-none', seconds: 0 },
    ]);
  });
});
