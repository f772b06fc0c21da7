/**
 * Preloaded into every test file's process (`npm test` passes `--import` to `node --test`, which
 * passes it on to each file's child process). `--test-force-exit` ends a child with
 * `process.exit()` as soon as its tests are done, while the last of its results may still be
 * queued on its stdout — a pipe to the runner, non-blocking on Linux — and those results are then
 * lost without a failure: the run reports fewer tests than ran (nodejs/node#64833, open; measured
 * here: 590–796 of 800 results on Node.js 20 and 22). A blocking stdout is written through before
 * the exit, which is also how Node.js's own fix proposes to do it (nodejs/node#64875).
 * `test/test-suite.test.ts` checks that every result arrives.
 */
if (process.env.NODE_TEST_CONTEXT)
  (process.stdout as unknown as { _handle?: { setBlocking?: (blocking: boolean) => void } })._handle?.setBlocking?.(
    true,
  );
