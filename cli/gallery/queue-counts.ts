import { explainAwsError } from '../target/aws-errors.js';
import { queueDepth } from '../../pipeline/sqs-operations.js';
import type { Target } from '../target/target.js';

/** The queue's depth and the dead-letter queue's count, or why they could not be read. */
export interface QueueCountsSnapshot {
  readonly queue: { visible: number; inFlight: number } | null;
  readonly deadLetters: number | null;
  readonly problem?: string;
}

/** Queue and dead-letter depths, read at most every two seconds however many pages ask. */
export class QueueCounts {
  private last?: { at: number; value: Promise<QueueCountsSnapshot> };
  constructor(private readonly target: Target) {}

  get(): Promise<QueueCountsSnapshot> {
    if (!this.last || Date.now() - this.last.at > 2_000) this.last = { at: Date.now(), value: this.read() };
    return this.last.value;
  }

  private async read(): Promise<QueueCountsSnapshot> {
    const { sqs, queueUrl, dlqUrl } = this.target;
    try {
      const [queue, deadLetters] = await Promise.all([
        queueUrl ? queueDepth(sqs, queueUrl) : null,
        dlqUrl ? queueDepth(sqs, dlqUrl) : null,
      ]);
      return { queue, deadLetters: deadLetters ? deadLetters.visible + deadLetters.inFlight : null };
    } catch (error) {
      const problem = explainAwsError(error, {
        queueUrl: queueUrl ?? dlqUrl,
        endpoint: this.target.endpoint,
        profile: this.target.profile,
      }).message;
      return { queue: null, deadLetters: null, problem };
    }
  }
}
