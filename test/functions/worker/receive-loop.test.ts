import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { silentLogger } from '../../../common/logger.js';
import { CapacityGate } from '../../../functions/worker/capacity-gate.js';
import { ReceiveLoop } from '../../../functions/worker/receive-loop.js';

const QUEUE_URL = 'http://127.0.0.1:1/000000000000/queue';

function loopOn(gate: CapacityGate, sqs: SQSClient): ReceiveLoop {
  return new ReceiveLoop({
    sqs,
    queueUrl: QUEUE_URL,
    concurrency: 2,
    waitSeconds: 0,
    visibilityTimeoutSeconds: 30,
    gate,
    logger: silentLogger,
    onMessage: () => assert.fail('no message is received here'),
    onFatal: (error) => assert.fail(error),
  });
}

describe('ReceiveLoop', () => {
  it('stops at once while its polls wait for slots that work in flight never frees, and hands back slots granted later', async () => {
    const sqs = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const mock = mockClient(sqs);
    mock.on(ReceiveMessageCommand).resolves({ Messages: [] });
    const gate = new CapacityGate(40);
    for (let record = 0; record < 35; record++) await gate.acquire(); // 5 free: fewer than a receive waits for
    const loop = loopOn(gate, sqs);
    loop.start();
    await sleep(20);
    assert.equal(mock.commandCalls(ReceiveMessageCommand).length, 0, 'no receive with 5 of 40 slots free');
    const stopped = await Promise.race([loop.stop().then(() => true), sleep(1000, false)]);
    assert.equal(stopped, true, 'stop() did not wait for slots');
    gate.release(35);
    await sleep(10);
    assert.equal(gate.held, 0, 'the slots the waiting polls got after the stop were given back');
    assert.equal(mock.commandCalls(ReceiveMessageCommand).length, 0, 'and nothing was received with them');
    mock.restore();
  });
});
