import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level. Default: `$LOG_LEVEL`, else `info`. */
  readonly level?: string;
  /** Human-readable lines instead of JSON (for a person at a terminal). Default: false. */
  readonly pretty?: boolean;
}

/**
 * The project's one logger: structured JSON lines on stderr (stdout is kept for command output
 * such as `classify`'s JSONL). Commands used by a person at a terminal ask for `pretty` lines.
 */
export function createLogger(name: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info';
  const destination = options.pretty
    ? pretty({ destination: 2, sync: true, ignore: 'pid,hostname,name', translateTime: 'HH:MM:ss', singleLine: true })
    : pino.destination({ fd: 2, sync: true });
  return pino({ name, level, base: { name } }, destination);
}

/** A logger that drops everything, for tests and library callers that want silence. */
export const silentLogger: Logger = pino({ level: 'silent' });

/**
 * Node.js process warnings (the AWS SDK's notice that it will need a newer Node.js, a deprecation)
 * as one log line each at warn level, instead of Node's own multi-line text between JSON lines.
 */
export function logProcessWarnings(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) =>
    logger.warn({ warning: warning.name, detail: warning.message.replace(/\s*\n\s*/g, ' ') }, 'Node.js warning'),
  );
}
