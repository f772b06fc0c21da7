import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../../common/logger.js';
import { projectRoot } from '../../../common/paths.js';
import { keepHealthFileFresh } from '../../../functions/worker/health-file.js';
import { HEALTH_FILE_STALE_SECONDS } from '../../../pipeline/worker-environment.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

const check = (file: string) =>
  spawnSync(process.execPath, [path.join(projectRoot, 'dist', 'functions', 'worker', 'health-check.js')], {
    env: { ...process.env, HEALTH_FILE: file },
    encoding: 'utf8',
  });

describe('container health check', () => {
  it('is healthy while the event loop keeps the file fresh, and unhealthy once it is stale or missing', async () => {
    const folder = temporaryFolder('alexnet-health-');
    const file = path.join(folder, 'alive');
    assert.equal(check(file).status, 1, 'no file yet: unhealthy');

    const stop = keepHealthFileFresh(file, silentLogger);
    await sleep(50);
    assert.equal(check(file).status, 0);
    stop();

    const stale = new Date(Date.now() - (HEALTH_FILE_STALE_SECONDS + 5) * 1000);
    await writeFile(file, 'x');
    await utimes(file, stale, stale);
    const run = check(file);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /unhealthy: .* was last touched \d+ s ago .*the event loop is stuck/);
  });

  it('keeps touching the file while the event loop runs (a stale file is fresh again at the next tick)', async () => {
    const folder = temporaryFolder('alexnet-health-');
    const file = path.join(folder, 'alive');
    const stop = keepHealthFileFresh(file, silentLogger, 100);
    try {
      await sleep(50);
      const stale = new Date(Date.now() - (HEALTH_FILE_STALE_SECONDS + 5) * 1000);
      await utimes(file, stale, stale);
      assert.equal(check(file).status, 1, 'made stale');
      await sleep(300);
      assert.equal(check(file).status, 0, 'touched again by the interval');
    } finally {
      stop();
    }
  });
});
