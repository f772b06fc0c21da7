import { Semaphore } from 'async-mutex';

/** SQS hands out at most ten messages per ReceiveMessage. */
export const SQS_RECEIVE_LIMIT = 10;

/**
 * Waiters' order (async-mutex serves a higher priority first): a further record of a message
 * already received goes before a receive — it is work the worker holds, under a lease — and the
 * slots a receive adds to the ones it waited for are taken at once, ahead of everything.
 */
const RECEIVE_PRIORITY = 0;
const RECORD_PRIORITY = 1;
const TAKE_NOW_PRIORITY = Number.MAX_SAFE_INTEGER;

/**
 * The free slots a receive waits for before it asks SQS: a full ten, or a quarter of the capacity
 * when that is less (a small capacity still overlaps receiving with the work in hand). Asking as
 * soon as one slot frees makes a busy worker's receives small — measured: 4 messages per receive
 * at the default capacity, and a receive of one record checks for a stored result with a HEAD of
 * its own instead of sharing a list — and every receive, list and delete is a request's CPU.
 */
export function receiveThreshold(capacity: number): number {
  return Math.min(SQS_RECEIVE_LIMIT, Math.max(1, Math.floor(capacity / 4)));
}

/**
 * The bound on images held between receive and stored result (`MAX_IMAGES_IN_FLIGHT`). A long
 * poll first takes the free slots it will ask SQS for — it waits for {@link receiveThreshold} of
 * them, then takes every other free one up to ten — so the worker never receives more than it has
 * room for; each received message then owns one slot, and every further record of a message waits
 * for a slot of its own (ahead of the receives), so a message with fifty records is admitted a
 * record at a time rather than all at once.
 */
export class CapacityGate {
  private readonly slots: Semaphore;
  /** Free slots a receive waits for. */
  readonly receiveThreshold: number;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.slots = new Semaphore(capacity);
    this.receiveThreshold = receiveThreshold(capacity);
  }

  /**
   * Waits until {@link receiveThreshold} slots (at most `max`) are free, then takes every free slot
   * up to `max`; returns how many it took. Rejects once closed.
   */
  async reserveForReceive(max = SQS_RECEIVE_LIMIT): Promise<number> {
    const first = Math.min(max, this.receiveThreshold);
    await this.slots.acquire(first, RECEIVE_PRIORITY);
    const extra = Math.min(max - first, this.slots.getValue());
    // At the highest priority async-mutex hands free slots over synchronously, even while other
    // waiters queue for more than is free: nothing else can claim them in between.
    if (extra > 0) void this.slots.acquire(extra, TAKE_NOW_PRIORITY);
    return first + extra;
  }

  /** Waits for one slot, ahead of any waiting receive. Rejects once closed. */
  async acquire(): Promise<void> {
    await this.slots.acquire(1, RECORD_PRIORITY);
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
