import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapacityGate } from '../../../functions/worker/capacity-gate.js';
import { MemoryBudget } from '../../../functions/worker/memory-budget.js';

const MIB = 2 ** 20;

describe('CapacityGate', () => {
  it('lets a receive take every free slot up to ten, and waits while none is free', async () => {
    const gate = new CapacityGate(12);
    assert.equal(gate.receiveThreshold, 3, 'a quarter of 12');
    assert.equal(await gate.reserveForReceive(), 10);
    let second: number | undefined;
    void gate.reserveForReceive().then((slots) => (second = slots));
    await sleep(10);
    assert.equal(second, undefined, '2 of 12 slots free: the receive waits for 3');
    gate.release(1);
    await sleep(0);
    assert.equal(second, 3);
    assert.equal(gate.held, 12);
  });

  it('makes a busy worker wait for a full receive of ten rather than ask for one message at a time', async () => {
    const gate = new CapacityGate(96);
    assert.equal(gate.receiveThreshold, 10);
    for (let receive = 0; receive < 9; receive++) assert.equal(await gate.reserveForReceive(), 10);
    let next: number | undefined;
    void gate.reserveForReceive().then((slots) => (next = slots));
    await sleep(10);
    assert.equal(next, undefined, '6 free: not asked');
    gate.release(3);
    await sleep(10);
    assert.equal(next, undefined, '9 free: still not asked');
    gate.release(1);
    await sleep(0);
    assert.equal(next, 10);
    assert.equal(new CapacityGate(2).receiveThreshold, 1, 'a capacity under four receives as soon as a slot frees');
  });

  it("lets a received message's further records go ahead of a waiting receive", async () => {
    const gate = new CapacityGate(40);
    for (let receive = 0; receive < 4; receive++) await gate.reserveForReceive();
    const order: string[] = [];
    void gate.reserveForReceive().then(() => order.push('receive'));
    void gate.acquire().then(() => order.push('record'));
    gate.release(1);
    await sleep(0);
    assert.deepEqual(order, ['record'], 'the freed slot went to the record waiting behind the receive');
    gate.release(10);
    await sleep(0);
    assert.deepEqual(order, ['record', 'receive']);
    assert.equal(gate.held, 40);
  });

  it("takes a receive's extra slots at once even while another receive waits for more than is free", async () => {
    const gate = new CapacityGate(12);
    for (let record = 0; record < 12; record++) await gate.acquire();
    let first: number | undefined;
    let second: number | undefined;
    void gate.reserveForReceive().then((slots) => (first = slots));
    void gate.reserveForReceive().then((slots) => (second = slots));
    gate.release(4);
    await sleep(10);
    assert.equal(first, 4, 'waited for 3, then took the one other free slot');
    assert.equal(second, undefined, 'nothing left for the second');
    assert.equal(gate.held, 12, 'the slots it reports are the slots it holds');
    gate.release(first);
    await sleep(0);
    assert.equal(second, 4);
    assert.equal(gate.held, 12);
  });

  it('admits further records one slot at a time, and rejects waiters when closed', async () => {
    const gate = new CapacityGate(1);
    await gate.acquire();
    const waiting = gate.acquire();
    gate.close();
    await assert.rejects(waiting);
  });
});

describe('MemoryBudget', () => {
  it('holds reservations until released, in whole MiB, and lets one larger than the budget run alone', async () => {
    const budget = new MemoryBudget(10 * MIB);
    const first = await budget.reserve(6 * MIB + 1);
    assert.equal(budget.heldBytes, 7 * MIB);
    let second: (() => void) | undefined = undefined;
    void budget.reserve(4 * MIB).then((release) => (second = release));
    await sleep(10);
    assert.equal(second, undefined, '7 + 4 MiB exceeds the 10 MiB budget');
    first();
    first();
    await sleep(0);
    assert.ok(second, 'released bytes admit the waiter; a second release call does nothing');
    (second as () => void)();
    const huge = await budget.reserve(100 * MIB);
    assert.equal(budget.heldBytes, 10 * MIB);
    huge();
    assert.equal(budget.heldBytes, 0);
  });
});
