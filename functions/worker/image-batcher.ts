/** Options of {@link ImageBatcher}. */
export interface ImageBatcherOptions<R> {
  /** Items per batch at most. */
  readonly maxBatch: number;
  /** A batch runs at the latest this long after its oldest item arrived. */
  readonly maxWaitMs: number;
  /** Runs one batch; returns one result per item, in order. Batches run one at a time. */
  readonly runBatch: (items: readonly Uint8Array[]) => Promise<readonly R[]>;
}

/** What an item's caller gets back once its batch ran. */
export interface BatchedResult<R> {
  readonly result: R;
  readonly batchSize: number;
  readonly inferenceMs: number;
}

interface Pending<R> {
  readonly image: Uint8Array;
  readonly arrivedAt: number;
  readonly resolve: (value: BatchedResult<R>) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers images from many messages into one inference run: a batch starts when `maxBatch` items
 * wait or `maxWaitMs` after the oldest arrived, whichever comes first. One batch runs at a time
 * (one device); items that arrive meanwhile form the next batch, taken when the device is free so
 * that batches are as full as the traffic allows.
 */
export class ImageBatcher<R> {
  private readonly pending: Pending<R>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private closedBy: Error | undefined;

  constructor(private readonly options: ImageBatcherOptions<R>) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1)
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    if (!(options.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be ≥ 0, got ${options.maxWaitMs}`);
  }

  /** Queues one decoded image; resolves with its result after its batch ran, or rejects if the batch failed. */
  add(image: Uint8Array): Promise<BatchedResult<R>> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    return new Promise((resolve, reject) => {
      this.pending.push({ image, arrivedAt: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Fails every waiting item and every later `add` with `cause` (the worker cannot infer any more). */
  close(cause: Error): void {
    this.closedBy ??= cause;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const item of this.pending.splice(0)) item.reject(this.closedBy);
  }

  /** Items waiting for a batch. */
  get waiting(): number {
    return this.pending.length;
  }

  private schedule(): void {
    if (this.running || this.pending.length === 0) return;
    const oldestWaitedMs = performance.now() - this.pending[0]!.arrivedAt;
    if (this.pending.length >= this.options.maxBatch || oldestWaitedMs >= this.options.maxWaitMs) {
      void this.runNext();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.options.maxWaitMs - oldestWaitedMs);
    }
  }

  private async runNext(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = true;
    const batch = this.pending.splice(0, this.options.maxBatch);
    const started = performance.now();
    try {
      const results = await this.options.runBatch(batch.map((item) => item.image));
      const inferenceMs = performance.now() - started;
      batch.forEach((item, i) => item.resolve({ result: results[i]!, batchSize: batch.length, inferenceMs }));
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
