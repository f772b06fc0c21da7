import { Semaphore } from 'async-mutex';

/** SQS hands out at most ten messages per ReceiveMessage. */
export const SQS_RECEIVE_LIMIT = 10;

/**
 * The bound on images held between receive and stored result (`MAX_IMAGES_IN_FLIGHT`). A long
 * poll first takes the free slots it will ask SQS for (at most ten, at least one), so the worker
 * never receives more than it has room for; each received message then owns one slot, and every
 * further record of a message waits for a slot of its own, so a message with fifty records is
 * admitted a record at a time rather than all at once.
 */
export class CapacityGate {
  private readonly slots: Semaphore;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.slots = new Semaphore(capacity);
  }

  /** Waits until a slot is free, then takes every free slot up to `max`; returns how many it took. Rejects once closed. */
  async reserveForReceive(max = SQS_RECEIVE_LIMIT): Promise<number> {
    await this.slots.acquire(1);
    const extra = Math.min(max - 1, this.slots.getValue());
    // Free slots are taken synchronously: nothing else can claim them in between.
    if (extra > 0) void this.slots.acquire(extra);
    return 1 + extra;
  }

  /** Waits for one slot. Rejects once closed. */
  async acquire(): Promise<void> {
    await this.slots.acquire(1);
  }

  /** Gives back `count` slots. */
  release(count = 1): void {
    if (count > 0) this.slots.release(count);
  }

  /** Slots taken now. */
  get held(): number {
    return this.capacity - this.slots.getValue();
  }

  /** Wakes every waiter with a rejection: the worker is stopping. */
  close(): void {
    this.slots.cancel();
  }
}
