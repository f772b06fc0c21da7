import { InferenceKeepsFailingError } from '../../pipeline/errors.js';

/** Failed inference runs in a row after which the worker gives up (a broken GPU fails every batch). */
export const MAX_CONSECUTIVE_FAILED_BATCHES = 3;

/**
 * Counts inference runs that failed in a row. A single failed batch sends its messages back; a run
 * of them means the device itself is broken, and the worker should exit so that ECS replaces it.
 */
export class InferenceBreaker {
  private consecutiveFailures = 0;

  constructor(private readonly maxConsecutiveFailures = MAX_CONSECUTIVE_FAILED_BATCHES) {}

  succeeded(): void {
    this.consecutiveFailures = 0;
  }

  /** Records a failed run: the error to fail the worker with once the limit is reached, else undefined. */
  failed(cause: unknown): InferenceKeepsFailingError | undefined {
    this.consecutiveFailures++;
    return this.consecutiveFailures >= this.maxConsecutiveFailures
      ? new InferenceKeepsFailingError(this.consecutiveFailures, cause)
      : undefined;
  }
}
