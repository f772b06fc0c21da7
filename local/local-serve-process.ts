import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { endWithThisProcess } from '../common/child-processes.js';
import { projectRoot } from '../common/paths.js';
import { PipelineError } from '../common/errors.js';

/** The compiled CLI, as `npx alexnet-pipeline` runs it. */
export const cliEntry = path.join(projectRoot, 'dist', 'cli', 'main.js');

/** A running `alexnet-pipeline local --serve` in its own process. */
export interface LocalServeProcess {
  readonly child: ChildProcess;
  /** What it printed on stdout up to its last `export` line. */
  readonly banner: string;
  /** The `export NAME=value` lines it printed: the environment of a worker or CLI in another terminal. */
  readonly environment: Readonly<Record<string, string>>;
  /** Ctrl-C, then its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `local --serve` (with `extraArguments`, e.g. `--no-worker`) and resolves once it has
 * printed the environment other terminals need. `environment` is added to its own. The child is
 * killed if this process exits first (see `endWithThisProcess`).
 */
export async function startLocalServe(
  extraArguments: readonly string[] = [],
  environment: Record<string, string> = {},
): Promise<LocalServeProcess> {
  const child = endWithThisProcess(
    spawn(process.execPath, [cliEntry, 'local', '--serve', ...extraArguments], {
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  let errors = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  child.stdout!.setEncoding('utf8');
  const banner = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      output += chunk;
      if (/export RESULTS_PREFIX=\S+\n/.test(output)) resolve(output);
    });
    child.once('exit', (code) =>
      reject(
        new PipelineError('LOCAL_SERVE_EXITED', `local --serve exited early with ${code}: ${errors.slice(-2000)}`),
      ),
    );
  });
  const exported = Object.fromEntries(
    [...banner.matchAll(/export (\w+)=(\S+)/g)].map((match) => [match[1]!, match[2]!]),
  );
  return {
    child,
    banner,
    environment: exported,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGINT');
      const [code] = await once(child, 'exit');
      return code as number | null;
    },
  };
}
