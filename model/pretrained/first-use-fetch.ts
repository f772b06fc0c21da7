import { mkdir } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { describeError } from '../../common/errors.js';
import { fileExists as exists } from '../../common/file-exists.js';
import type { Logger } from '../../common/logger.js';
import { OFFICIAL_ALEXNET_CHECKPOINT } from '../checkpoint/official-weights.js';
import type { DownloadProgressFactory } from './download-verified.js';
import { fetchCheckpointAndConvert } from './fetch-checkpoint.js';
import { cachedModelFile, FIRST_USE_TIMEOUTS, type FirstUseSettings } from './weights-source.js';

/** The cached model, found or fetched now; or why there is none. */
export type FirstUseOutcome =
  | { readonly kind: 'cached' | 'fetched'; readonly path: string }
  | { readonly kind: 'unavailable'; readonly reason: string };

/**
 * A lock held by a process that stopped renewing it (SIGKILL, a machine that went down) is taken
 * over after this long; a running holder renews it every {@link LOCK_RENEW_MS}.
 */
export const LOCK_STALE_MS = 10_000;
const LOCK_RENEW_MS = 2_000;
/** How often a process that waits for another's fetch looks again. */
const WAIT_POLL_MS = 250;

/**
 * The first use of the pretrained weights (online, and none cached: `planModel` decides): the
 * checkpoint downloaded, verified and converted into the cache — by one process at a time: the
 * others wait for it under a lock file and use what it wrote. Never throws: a failure (no network,
 * a stall, a refused hash, a cache that cannot be written) is returned as the reason, and nothing
 * is left in the cache but a complete model.
 */
export async function firstUseModel(
  settings: FirstUseSettings,
  dependencies: { logger: Logger; progress?: DownloadProgressFactory | undefined },
): Promise<FirstUseOutcome> {
  const file = cachedModelFile(settings.cacheDirectory, settings.source);
  try {
    await mkdir(settings.cacheDirectory, { recursive: true });
    return await fetchOnce(settings, file, dependencies);
  } catch (error) {
    return { kind: 'unavailable', reason: describeError(error).message };
  }
}

async function fetchOnce(
  settings: FirstUseSettings,
  file: string,
  dependencies: { logger: Logger; progress?: DownloadProgressFactory | undefined },
): Promise<FirstUseOutcome> {
  const { logger } = dependencies;
  let announced = false;
  for (;;) {
    if (await exists(file)) return { kind: 'cached', path: file };
    const release = await tryLock(file, logger);
    if (release) {
      try {
        // Another process may have finished between the look and the lock.
        if (await exists(file)) return { kind: 'cached', path: file };
        await download(settings, file, dependencies);
        return { kind: 'fetched', path: file };
      } finally {
        await release().catch(() => undefined);
      }
    }
    if (!announced) {
      announced = true;
      logger.info({ path: file }, 'another process is fetching the pretrained weights: waiting for it');
    }
    await delay(WAIT_POLL_MS);
  }
}

async function download(
  settings: FirstUseSettings,
  file: string,
  dependencies: { logger: Logger; progress?: DownloadProgressFactory | undefined },
): Promise<void> {
  const { logger } = dependencies;
  const { source } = settings;
  const megabytes = Math.round(source.maxBytes / 2 ** 20);
  logger.info(
    { url: source.url, cache: file },
    `first use: fetching the pretrained weights${source.url === OFFICIAL_ALEXNET_CHECKPOINT.url ? ` (${megabytes} MB)` : ''} once into the cache; later runs start offline from it`,
  );
  const started = performance.now();
  const { report, bytes } = await fetchCheckpointAndConvert(
    {
      source,
      out: file,
      connectTimeoutMs: FIRST_USE_TIMEOUTS.connectMs,
      idleTimeoutMs: FIRST_USE_TIMEOUTS.idleMs,
      progress: dependencies.progress,
    },
    logger,
  );
  logger.info(
    {
      path: file,
      bytes,
      weights: report.weights,
      pretrained: report.pretrained,
      ms: Math.round(performance.now() - started),
    },
    'pretrained weights cached',
  );
}

/** The lock on `file`'s fetch, or undefined while another running process holds it. */
async function tryLock(file: string, logger: Logger): Promise<(() => Promise<void>) | undefined> {
  try {
    return await lockfile.lock(file, {
      realpath: false,
      stale: LOCK_STALE_MS,
      update: LOCK_RENEW_MS,
      retries: 0,
      // Another process took the lock over (this one stalled past LOCK_STALE_MS): both write the
      // same verified model atomically, so the cache still ends with one good copy.
      onCompromised: (error) => logger.warn({ err: error.message }, 'the model cache lock was taken over'),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') return undefined;
    throw error;
  }
}
