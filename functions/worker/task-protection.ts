import { HttpStatusError } from '../../pipeline/errors.js';
import type { Logger } from '../../common/logger.js';

/** Options of {@link TaskProtection}. */
export interface TaskProtectionOptions {
  /** `$ECS_AGENT_URI`; without it protection is a no-op (local runs, tests). */
  readonly agentUri?: string;
  /** Protection lasts this long unless renewed. Default: 15 minutes. */
  readonly expiresInMinutes?: number;
  /** Stay protected this long after the last work, so that bursts do not flap it. Default: 10 s. */
  readonly idleReleaseMs?: number;
  /** A failed enable is tried again no sooner than this. Default: 5 s. */
  readonly retryAfterMs?: number;
  readonly logger: Logger;
  /** Injected for tests. Default: global fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * ECS task scale-in protection: held while the worker has messages in flight, so that scaling in
 * never kills a task in the middle of a batch, and released when it is idle so that the service
 * can scale back to zero. Uses the ECS agent's task-protection endpoint. Calls go out one at a
 * time, in order, so a release can never overtake the enable before it; protection counts as held
 * only once the agent has confirmed it, and a failed enable is tried again.
 */
export class TaskProtection {
  /** When the confirmed protection runs out (0: not held). */
  private protectedUntil = 0;
  private enableRequested = false;
  private lastFailedEnable = -Infinity;
  private releaseTimer: NodeJS.Timeout | undefined;
  private calls: Promise<void> = Promise.resolve();
  private readonly expiresInMinutes: number;
  private readonly idleReleaseMs: number;
  private readonly retryAfterMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: TaskProtectionOptions) {
    this.expiresInMinutes = options.expiresInMinutes ?? 15;
    this.idleReleaseMs = options.idleReleaseMs ?? 10_000;
    this.retryAfterMs = options.retryAfterMs ?? 5_000;
    this.fetch = options.fetch ?? fetch;
  }

  get enabled(): boolean {
    return Boolean(this.options.agentUri);
  }

  /** True while the agent has confirmed protection that has not run out. */
  get held(): boolean {
    return Date.now() < this.protectedUntil;
  }

  /** Called whenever the amount of work changes. */
  update(busy: boolean): void {
    if (!this.enabled) return;
    if (busy) {
      clearTimeout(this.releaseTimer);
      this.releaseTimer = undefined;
      // Renew when less than half of the protection period is left.
      const renewDue = Date.now() > this.protectedUntil - (this.expiresInMinutes * 60_000) / 2;
      if (renewDue && !this.enableRequested && Date.now() - this.lastFailedEnable >= this.retryAfterMs) {
        this.enableRequested = true;
        this.enqueue(true);
      }
    } else if ((this.protectedUntil > 0 || this.enableRequested) && !this.releaseTimer) {
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = undefined;
        this.enqueue(false);
      }, this.idleReleaseMs);
      this.releaseTimer.unref();
    }
  }

  /** Releases protection now (shutdown), after any call already under way. */
  async release(): Promise<void> {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    if (this.enabled && (this.protectedUntil > 0 || this.enableRequested)) this.enqueue(false);
    await this.settled();
  }

  /** Resolves once every call already queued has been answered or has failed. */
  settled(): Promise<void> {
    return this.calls;
  }

  private enqueue(enabled: boolean): void {
    this.calls = this.calls.then(() => this.put(enabled));
  }

  private async put(enabled: boolean): Promise<void> {
    if (enabled) this.enableRequested = false;
    const body = enabled
      ? { ProtectionEnabled: true, ExpiresInMinutes: this.expiresInMinutes }
      : { ProtectionEnabled: false };
    const sentAt = Date.now();
    try {
      const response = await this.fetch(`${this.options.agentUri}/task-protection/v1/state`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) throw new HttpStatusError('the ECS agent', response.status, await response.text());
      this.protectedUntil = enabled ? sentAt + this.expiresInMinutes * 60_000 : 0;
      this.options.logger.info({ enabled }, 'task scale-in protection updated');
    } catch (error) {
      if (enabled) this.lastFailedEnable = Date.now();
      this.options.logger.warn({ enabled, err: error }, 'task scale-in protection could not be updated');
    }
  }
}
