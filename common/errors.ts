/**
 * The one error base class of the project. Every error carries a stable `code` (what callers and
 * result objects switch on), whether retrying can fix it, and the context a reader needs.
 */
export class PipelineError extends Error {
  /** Stable, upper-snake-case identifier, e.g. `CORRUPT_IMAGE`. */
  readonly code: string;
  /** True when the same work may succeed if tried again (network, throttling, 5xx). */
  readonly retryable: boolean;
  /** Facts about the failure (a key, a file, a limit) for logs and messages. */
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; context?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }
}

/** A bad option or environment variable: start-up stops with a message that names it. */
export class ConfigurationError extends PipelineError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('INVALID_CONFIGURATION', message, { context });
  }
}

/** Turns anything thrown into `{ code, message }` for result objects and logs. */
export function describeError(error: unknown): { code: string; message: string } {
  if (error instanceof PipelineError) return { code: error.code, message: error.message };
  if (error instanceof Error) return { code: 'INTERNAL_ERROR', message: error.message };
  return { code: 'INTERNAL_ERROR', message: String(error) };
}
