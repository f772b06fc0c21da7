import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { endWithThisProcess } from '../common/child-processes.js';
import { projectRoot } from '../common/paths.js';

const WORKER_ENTRY = path.join(projectRoot, 'dist', 'functions', 'worker', 'main.js');

/** Keeps one standalone worker process running, as ECS keeps a task running: it restarts one that exits. */
export class WorkerSupervisor {
  private current: ChildProcess | undefined;
  private stopping = false;
  readonly unexpectedExits: number[] = [];

  constructor(
    private readonly logFile: string,
    private readonly environment: Record<string, string>,
  ) {}

  start(extra: Record<string, string> = {}): void {
    const log = openSync(this.logFile, 'a');
    const child = endWithThisProcess(
      spawn(process.execPath, [WORKER_ENTRY], {
        env: { ...process.env, ...this.environment, ...extra },
        stdio: ['ignore', 'ignore', log],
      }),
    );
    closeSync(log);
    this.current = child;
    child.once('exit', (code, signal) => {
      if (this.stopping || signal === 'SIGKILL' || child !== this.current) return;
      this.unexpectedExits.push(code ?? -1);
      this.start();
    });
  }

  async killAndRestart(): Promise<void> {
    const child = this.current!;
    child.kill('SIGKILL');
    await once(child, 'exit');
    this.start();
  }

  /** Samples the running worker's RSS (VmRSS) every second until stopped; returns the samples in MB. */
  sampleRss(): { stop(): number[] } {
    const samples: number[] = [];
    const timer = setInterval(() => {
      void readFile(`/proc/${this.current?.pid}/status`, 'utf8')
        .then((status) => {
          const match = /VmRSS:\s+(\d+) kB/.exec(status);
          if (match) samples.push(Number(match[1]) / 1024);
        })
        .catch(() => undefined);
    }, 1000);
    return {
      stop() {
        clearInterval(timer);
        return samples;
      },
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.current;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}
