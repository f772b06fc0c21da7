import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CapacityGate } from '../../../functions/worker/capacity-gate.js';
import { MemoryBudget } from '../../../functions/worker/memory-budget.js';

const MIB = 2 ** 20;

describe('CapacityGate', () => {
  it('lets a receive take every free slot up to ten, and waits while none is free', async () => {
    const gate = new CapacityGate(12);
    assert.equal(await gate.reserveForReceive(), 10);
    assert.equal(await gate.reserveForReceive(), 2);
    let third: number | undefined;
    void gate.reserveForReceive().then((slots) => (third = slots));
    await sleep(10);
    assert.equal(third, undefined, 'no slot free: the receive waits');
    gate.release(3);
    await sleep(0);
    assert.equal(third, 3);
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
