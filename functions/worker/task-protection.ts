import type { Logger } from '../../common/logger.js';

/** Options of {@link TaskProtection}. */
export interface TaskProtectionOptions {
  /** `$ECS_AGENT_URI`; without it protection is a no-op (local runs, tests). */
  readonly agentUri?: string;
  /** Protection lasts this long unless renewed. Default: 15 minutes. */
  readonly expiresInMinutes?: number;
  /** Stay protected this long after the last work, so that bursts do not flap it. Default: 10 s. */
  readonly idleReleaseMs?: number;
  readonly logger: Logger;
  /** Injected for tests. Default: global fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * ECS task scale-in protection: held while the worker has messages in flight, so that scaling in
 * never kills a task in the middle of a batch, and released when it is idle so that the service
 * can scale back to zero. Uses the ECS agent's task-protection endpoint.
 */
export class TaskProtection {
  private protectedUntil = 0;
  private releaseTimer: NodeJS.Timeout | undefined;
  private readonly expiresInMinutes: number;
  private readonly idleReleaseMs: number;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: TaskProtectionOptions) {
    this.expiresInMinutes = options.expiresInMinutes ?? 15;
    this.idleReleaseMs = options.idleReleaseMs ?? 10_000;
    this.fetch = options.fetch ?? fetch;
  }

  get enabled(): boolean {
    return Boolean(this.options.agentUri);
  }

  /** Called whenever the amount of work changes. */
  update(busy: boolean): void {
    if (!this.enabled) return;
    if (busy) {
      clearTimeout(this.releaseTimer);
      this.releaseTimer = undefined;
      // Renew when less than half of the protection period is left.
      if (Date.now() > this.protectedUntil - (this.expiresInMinutes * 60_000) / 2) {
        this.protectedUntil = Date.now() + this.expiresInMinutes * 60_000;
        void this.put(true);
      }
    } else if (this.protectedUntil > 0 && !this.releaseTimer) {
      this.releaseTimer = setTimeout(() => {
        this.releaseTimer = undefined;
        this.protectedUntil = 0;
        void this.put(false);
      }, this.idleReleaseMs);
      this.releaseTimer.unref();
    }
  }

  /** Releases protection now (shutdown). */
  async release(): Promise<void> {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    if (this.enabled && this.protectedUntil > 0) {
      this.protectedUntil = 0;
      await this.put(false);
    }
  }

  private async put(enabled: boolean): Promise<void> {
    const body = enabled ? { ProtectionEnabled: true, ExpiresInMinutes: this.expiresInMinutes } : { ProtectionEnabled: false };
    try {
      const response = await this.fetch(`${this.options.agentUri}/task-protection/v1/state`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
      this.options.logger.info({ enabled }, 'task scale-in protection updated');
    } catch (error) {
      this.options.logger.warn({ enabled, err: error }, 'task scale-in protection could not be updated');
    }
  }
}
