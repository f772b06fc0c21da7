import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { endWithThisProcess } from '../../common/child-processes.js';
import { projectRoot } from '../../common/paths.js';

/** The container's entry point, compiled. */
export const workerEntry = path.join(projectRoot, 'dist', 'functions', 'worker', 'main.js');

/** A standalone worker process, as the container runs it, with its JSON log lines collected. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  logs(): string;
  /** Parsed JSON log lines so far. */
  logLines(): Array<Record<string, any>>;
  /** Resolves with the exit code (or the signal) once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node dist/functions/worker/main.js` with `environment` on top of this process's (undefined removes a variable). */
export function spawnWorker(environment: Record<string, string | undefined>): WorkerProcess {
  const child = endWithThisProcess(
    spawn(process.execPath, [workerEntry], {
      env: { ...process.env, LOG_LEVEL: 'info', ...environment },
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  let logs = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (logs += chunk));
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    logs: () => logs,
    logLines: () =>
      logs
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, any>),
    exited,
  };
}
