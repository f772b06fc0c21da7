import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
let hooked = false;

function killRunning(): void {
  for (const orphan of running) orphan.kill('SIGKILL');
}

/** On SIGTERM or SIGINT: the children go first, then this process ends by the same signal, as it would have. */
function killRunningThenDieBy(signal: NodeJS.Signals): void {
  killRunning();
  process.kill(process.pid, signal);
}

/**
 * Makes sure `child` does not outlive this process: if this process exits, or is ended by SIGTERM
 * or SIGINT, while the child still runs — a launcher that failed before its own stop, a test file
 * ended by the runner's time limit — the child gets SIGKILL on the way out. The normal path (stop,
 * wait for the exit) is the caller's; this is only the floor under it. Returns the child.
 *
 * The signal handlers are there only while such a child runs, so a process without one keeps
 * Node's default reaction to signals.
 */
export function endWithThisProcess<T extends ChildProcess>(child: T): T {
  if (!hooked) {
    hooked = true;
    process.once('exit', killRunning);
  }
  if (running.size === 0) {
    process.once('SIGTERM', killRunningThenDieBy);
    process.once('SIGINT', killRunningThenDieBy);
  }
  running.add(child);
  child.once('exit', () => {
    running.delete(child);
    if (running.size === 0) {
      process.removeListener('SIGTERM', killRunningThenDieBy);
      process.removeListener('SIGINT', killRunningThenDieBy);
    }
  });
  return child;
}
