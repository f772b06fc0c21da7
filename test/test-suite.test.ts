import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../common/paths.js';
import { temporaryFolder } from './helpers/temporary-folder.js';
import {
  CONTAINER_TESTS,
  SLOWEST_TEST_FILES,
  testFilesIn,
  testFilesInRunOrder,
  testFilesOfSet,
} from './helpers/test-files.js';

/** `npm test`'s command line, from package.json. */
const testCommand = (
  JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts.test!;
const hangingFile = fileURLToPath(new URL('./fixtures/suite/failing-local-serve.js', import.meta.url));

/** Whether `pid` still runs: a killed process whose parent is gone may linger as a zombie until it is reaped, which is not running. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = /^\d+ \(.*\) (\S)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
  return state !== 'Z' && state !== 'X';
}

describe('the test suite itself', () => {
  it('gives every test a time limit and ends the run once the tests are done (package.json)', () => {
    const limit = /--test-timeout=(\d+)/.exec(testCommand);
    assert.ok(limit, `npm test sets --test-timeout: ${testCommand}`);
    assert.ok(
      Number(limit[1]) >= 60_000 && Number(limit[1]) <= 600_000,
      'a limit above the slowest test (about a minute) and below CI’s patience',
    );
    assert.match(testCommand, /--test-force-exit/);
  });

  it('runs every test file once, the slowest first (each one it names still exists)', () => {
    const compiled = path.join(projectRoot, 'dist', 'test');
    for (const file of SLOWEST_TEST_FILES)
      assert.ok(existsSync(path.join(projectRoot, 'test', file.replace(/\.js$/, '.ts'))), `test/${file} (as .ts)`);
    const order = testFilesInRunOrder(compiled);
    assert.deepEqual([...order].sort(), testFilesIn(compiled), 'each file exactly once');
    assert.deepEqual(order.slice(0, SLOWEST_TEST_FILES.length), [...SLOWEST_TEST_FILES]);
    assert.match(testCommand, /\$\(node dist\/test\/helpers\/test-files\.js\)/);
  });

  it('runs, with ALEXNET_TEST_SET=container, the tests of what the container runs and nothing else', () => {
    const compiled = path.join(projectRoot, 'dist', 'test');
    const container = testFilesOfSet(compiled, 'container');
    for (const entry of CONTAINER_TESTS)
      assert.ok(
        container.some((file) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry)),
        `${entry} names tests`,
      );
    assert.ok(container.includes('functions/worker/queue-consumer.faults.integration.test.js'));
    assert.ok(container.includes('faults/fault-suite.test.js'));
    assert.ok(!container.some((file) => file.startsWith('infra/') || file === 'cli/local.test.js'));
    assert.deepEqual(testFilesOfSet(compiled, 'all'), testFilesInRunOrder(compiled));
    assert.throws(
      () => testFilesOfSet(compiled, 'worker'),
      /ALEXNET_TEST_SET is worker: it is all \(the default\), container or outside-container/,
    );
  });

  it('runs, with ALEXNET_TEST_SET=outside-container, every file the container set does not: CI runs each file once', () => {
    const compiled = path.join(projectRoot, 'dist', 'test');
    const container = testFilesOfSet(compiled, 'container');
    const outside = testFilesOfSet(compiled, 'outside-container');
    assert.deepEqual([...container, ...outside].sort(), testFilesIn(compiled), 'each file in exactly one set');
    assert.ok(outside.includes('infra/cdk-synth.test.js') && outside.includes('cli/local.test.js'));
    assert.ok(container.includes('model/torch-agreement.test.js'), 'the PyTorch cross-checks run with the model');
  });

  it('reports every result of every file, which --test-force-exit alone does not (nodejs/node#64833)', async () => {
    const folder = temporaryFolder('alexnet-suite-results-');
    const files = ['a', 'b'].map((name) => path.join(folder, `${name}.test.cjs`));
    const tests = Array.from({ length: 400 }, (_, i) => `test('t${i}', () => {});`).join('\n');
    for (const file of files) writeFileSync(file, `const { test } = require('node:test');\n${tests}\n`);
    const flags = testCommand.split(/\s+/).filter((flag) => /^--test-(force-exit|concurrency=)/.test(flag));
    const preload = /--import (\S+)/.exec(testCommand)?.[1];
    assert.ok(preload, `npm test preloads the report stream's fix: ${testCommand}`);
    for (let run = 0; run < 3; run++) {
      const child = spawn(
        process.execPath,
        ['--import', path.resolve(projectRoot, preload), '--test', ...flags, '--test-reporter=spec', ...files],
        { env: { ...process.env, NODE_TEST_CONTEXT: undefined }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const [code] = (await once(child, 'exit')) as [number | null];
      assert.equal(code, 0, output.slice(-500));
      assert.match(output, /^ℹ tests 800$/m, `run ${run + 1}: ${/^ℹ tests \d+$/m.exec(output)?.[0]}`);
    }
  });

  // Each mistake of failing-local-serve.ts, with npm test's runner flags and a limit of `limitMs` for the file:
  // the run ends by itself within `endsWithinMs`, failed, and the local --serve it started is gone.
  for (const [mode, limitMs, endsWithinMs, how] of [
    ['never-ends', 4_000, 30_000, 'by its time limit'],
    ['hook-fails', 60_000, 20_000, 'as soon as its tests are done, well before its time limit'],
  ] as const) {
    it(`ends a failing run that started local --serve (${mode}) ${how}, and leaves no process behind`, async () => {
      const folder = temporaryFolder('alexnet-suite-');
      const pidFile = path.join(folder, 'serve.pid');
      const flags = testCommand
        .split(/\s+/)
        .filter((flag) => /^--test-(force-exit|timeout=)/.test(flag))
        .map((flag) => flag.replace(/^--test-timeout=\d+$/, `--test-timeout=${limitMs}`));
      const run = spawn(process.execPath, ['--test', ...flags, hangingFile], {
        // Not a subtest of this run: a `node --test` of its own (NODE_TEST_CONTEXT would make it report to this one).
        env: {
          ...process.env,
          NODE_TEST_CONTEXT: undefined,
          SUITE_FIXTURE_MODE: mode,
          SUITE_FIXTURE_PID_FILE: pidFile,
          SUITE_FIXTURE_STATE_FILE: path.join(folder, 'state.json'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let output = '';
      run.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      run.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const started = Date.now();
      const guard = setTimeout(() => process.kill(-run.pid!, 'SIGKILL'), limitMs + 30_000);
      const [code, signal] = (await once(run, 'exit')) as [number | null, NodeJS.Signals | null];
      const tookMs = Date.now() - started;
      clearTimeout(guard);
      const servePid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined;
      try {
        assert.equal(signal, null, `the run ended by itself, not by this test's guard:\n${output.slice(-2000)}`);
        assert.notEqual(code, 0, 'the deliberately failing file fails');
        assert.ok(tookMs < endsWithinMs, `ended after ${tookMs} ms, within ${endsWithinMs} ms`);
        assert.ok(servePid, `the file started local --serve:\n${output.slice(-2000)}`);
        // Killed as its parent went; on a loaded machine it may take a moment to finish dying.
        const deadline = Date.now() + 5_000;
        while (isRunning(servePid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(isRunning(servePid), false, `local --serve (pid ${servePid}) is gone`);
      } finally {
        if (servePid && isRunning(servePid)) process.kill(servePid, 'SIGKILL');
      }
    });
  }
});
