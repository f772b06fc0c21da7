import { PipelineError } from '../../common/errors.js';

/** Exit statuses of the CLI. */
export const EXIT = {
  ok: 0,
  /** Bad usage, bad input, unreachable target. */
  error: 1,
  /** Some images failed (`classify`, `local`). */
  someFailed: 2,
  /** What was asked for does not exist yet (a result), or waiting for it timed out. */
  notReady: 3,
} as const;

/** A user error: printed as one line with what to do, never with a stack trace. */
export class CliError extends PipelineError {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown; code?: string } = {}) {
    super(options.code ?? 'CLI_ERROR', message, { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT.error;
  }
}
