#!/usr/bin/env node
import { statSync } from 'node:fs';
import { HEALTH_FILE_STALE_SECONDS } from '../../pipeline/worker-environment.js';
import { WORKER_ENVIRONMENT, WORKER_SETTINGS } from '../../pipeline/worker-settings.js';

/**
 * The container health check (`node dist/functions/worker/health-check.js`): healthy (exit 0)
 * while the worker's health file was touched in the last {@link HEALTH_FILE_STALE_SECONDS}
 * seconds, unhealthy (exit 1) otherwise. Kept free of the worker's other modules so that it
 * starts fast.
 */
const file = process.env[WORKER_ENVIRONMENT.healthFile] || WORKER_SETTINGS.healthFile.default;
try {
  const ageSeconds = (Date.now() - statSync(file).mtimeMs) / 1000;
  if (ageSeconds > HEALTH_FILE_STALE_SECONDS) {
    process.stderr.write(
      `unhealthy: ${file} was last touched ${Math.round(ageSeconds)} s ago (limit ${HEALTH_FILE_STALE_SECONDS} s): the event loop is stuck\n`,
    );
    process.exit(1);
  }
} catch (error) {
  process.stderr.write(`unhealthy: ${file} cannot be read (${(error as Error).message})\n`);
  process.exit(1);
}
