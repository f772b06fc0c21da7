import { Semaphore } from 'async-mutex';

const MIB = 2 ** 20;

/** Gives back what was reserved; calling it again does nothing. */
export type ReleaseMemory = () => void;

/**
 * A bound on bytes held at once. A reservation waits until the bytes are free; one larger than the
 * whole budget takes all of it, so it runs alone instead of never. Counted in whole MiB.
 */
export class MemoryBudget {
  private readonly mebibytes: Semaphore;
  private readonly totalMiB: number;

  constructor(readonly totalBytes: number) {
    this.totalMiB = Math.floor(totalBytes / MIB);
    if (this.totalMiB < 1) throw new RangeError(`the memory budget must be at least 1 MiB, got ${totalBytes} bytes`);
    this.mebibytes = new Semaphore(this.totalMiB);
  }

  /** Waits until `bytes` are free and holds them until the returned function is called. */
  async reserve(bytes: number): Promise<ReleaseMemory> {
    const weight = Math.min(this.totalMiB, Math.max(1, Math.ceil(bytes / MIB)));
    const [, release] = await this.mebibytes.acquire(weight);
    return release;
  }

  /** Bytes held now (in whole MiB). */
  get heldBytes(): number {
    return (this.totalMiB - this.mebibytes.getValue()) * MIB;
  }

  /** Rejects every waiting reservation: the worker is stopping. */
  close(): void {
    this.mebibytes.cancel();
  }
}
