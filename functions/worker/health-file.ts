import { utimes, writeFile } from 'node:fs/promises';
import type { Logger } from '../../common/logger.js';
import { HEALTH_FILE_TOUCH_SECONDS } from '../../pipeline/worker-environment.js';

/**
 * Touches the health file every few seconds from the event loop. The container health check
 * (`health-check.ts`) reads its age: a wedged event loop stops touching it, the file goes stale,
 * the container turns unhealthy and ECS replaces the task. Returns a function that stops it.
 */
export function keepHealthFileFresh(
  file: string,
  logger: Logger,
  intervalMs = HEALTH_FILE_TOUCH_SECONDS * 1000,
): () => void {
  const touch = async () => {
    const now = new Date();
    try {
      await utimes(file, now, now);
    } catch {
      await writeFile(file, `${process.pid}\n`).catch((error: unknown) =>
        logger.warn({ file, err: error }, 'health file cannot be written'),
      );
    }
  };
  void touch();
  const timer = setInterval(() => void touch(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
