import { Mutex } from 'async-mutex';

/**
 * One lock per key, made when first asked for and dropped when nobody holds or waits for it, so
 * the map stays as small as the writes under way. `acquire` resolves with the function that
 * releases the lock (calling it twice does nothing).
 */
export class KeyLocks {
  private readonly locks = new Map<string, { mutex: Mutex; users: number }>();

  async acquire(key: string): Promise<() => void> {
    const entry = this.locks.get(key) ?? { mutex: new Mutex(), users: 0 };
    this.locks.set(key, entry);
    entry.users++;
    const release = await entry.mutex.acquire();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (--entry.users === 0) this.locks.delete(key);
    };
  }

  /** Keys with a holder or a waiter (for tests: nothing is left behind). */
  get size(): number {
    return this.locks.size;
  }
}
