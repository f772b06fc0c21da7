import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, truncateSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readImageFile } from '../../model/read-image-file.js';
import { fixtureImagesDirectory } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const folder = temporaryFolder('alexnet-read-image-file-');

describe('readImageFile', () => {
  it('reads a file whole, up to and including the limit', async () => {
    const chelsea = path.join(fixtureImagesDirectory, 'chelsea.jpg');
    const bytes = await readFile(chelsea);
    assert.deepEqual(Buffer.from(await readImageFile(chelsea, 50 * 1024 * 1024)), bytes);
    assert.deepEqual(Buffer.from(await readImageFile(chelsea, bytes.length)), bytes, 'exactly the limit is allowed');
    await assert.rejects(readImageFile(chelsea, bytes.length - 1), {
      code: 'FILE_TOO_LARGE',
      message: `the file has ${bytes.length} bytes, more than the limit of ${bytes.length - 1}`,
    });
    const empty = path.join(folder, 'empty.jpg');
    writeFileSync(empty, '');
    assert.equal((await readImageFile(empty, 10)).length, 0);
  });

  it('refuses a file whose size is over the limit without reading it', async () => {
    // 3 GiB, sparse: read whole it would take seconds and fail as too large for a buffer.
    const huge = path.join(folder, 'huge.jpg');
    writeFileSync(huge, '');
    truncateSync(huge, 3 * 1024 ** 3);
    await assert.rejects(readImageFile(huge, 50 * 1024 * 1024), {
      code: 'FILE_TOO_LARGE',
      message: 'the file has 3221225472 bytes, more than the limit of 52428800',
    });
  });

  it('stops at the limit when a file holds more than its size says', async (t) => {
    // /proc files say 0 bytes and hold more: what a file that grew after its size was checked looks like.
    const claimsZero = '/proc/self/status';
    if (!existsSync(claimsZero)) return t.skip(`${claimsZero} is not here (not Linux)`);
    await assert.rejects(readImageFile(claimsZero, 100), {
      code: 'FILE_TOO_LARGE',
      message: 'the file has 101 bytes, more than the limit of 100',
    });
    const whole = await readImageFile(claimsZero, 1024 * 1024);
    assert.ok(whole.length > 101, `all ${whole.length} bytes, past the size it stated`);
    assert.match(Buffer.from(whole).toString('utf8'), /^Name:/);
  });

  it('refuses a FIFO named like an image without waiting for a writer', { timeout: 10_000 }, async (t) => {
    const fifo = path.join(folder, 'pipe.jpg');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return t.skip('mkfifo is not here');
    await assert.rejects(readImageFile(fifo, 100), {
      code: 'READ_FAILED',
      message: /pipe\.jpg is not a regular file$/,
    });
  });

  it('names a missing file, a folder and an unreadable path as image errors', async () => {
    await assert.rejects(readImageFile(path.join(folder, 'missing.jpg'), 100), {
      code: 'FILE_NOT_FOUND',
      message: /missing\.jpg does not exist$/,
    });
    await assert.rejects(readImageFile(folder, 100), { code: 'READ_FAILED', message: /is not a regular file$/ });
    const file = path.join(folder, 'a-file.jpg');
    writeFileSync(file, 'x');
    await assert.rejects(readImageFile(path.join(file, 'below'), 100), {
      code: 'READ_FAILED',
      message: /cannot be read: ENOTDIR/,
    });
  });
});
