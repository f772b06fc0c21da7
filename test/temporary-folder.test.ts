import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

describe('temporaryFolder (test helper)', () => {
  it('removes its folders when the test process exits, so test runs do not fill /tmp', () => {
    const helper = fileURLToPath(new URL('./helpers/temporary-folder.js', import.meta.url));
    const script = `import { writeFileSync } from 'node:fs'; import { temporaryFolder } from ${JSON.stringify(helper)};
      const folder = temporaryFolder('alexnet-cleanup-'); writeFileSync(folder + '/big.bin', Buffer.alloc(1024)); console.log(folder);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const folder = run.stdout.trim();
    assert.match(folder, /alexnet-cleanup-/);
    assert.equal(spawnSync('test', ['-e', folder]).status, 1, `${folder} is still there`);
  });
});
