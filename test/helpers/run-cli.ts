import { spawn } from 'node:child_process';
import path from 'node:path';
import { endWithThisProcess } from '../../common/child-processes.js';
import { projectRoot } from '../../common/paths.js';

/** The compiled CLI entry, as `npx alexnet-pipeline` runs it. */
export const cliEntry = path.join(projectRoot, 'dist', 'cli', 'main.js');

export interface CliRun {
  readonly status: number | null;
  /** The signal that ended it, e.g. SIGSEGV, or null. */
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI as a user would: a separate process, real arguments, real output. */
export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = endWithThisProcess(
      spawn(process.execPath, [cliEntry, ...args], {
        cwd: options.cwd ?? projectRoot,
        env: { ...process.env, LOG_LEVEL: 'info', ...options.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: options.timeoutMs ?? 120_000,
      }),
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** stdout's JSON lines, parsed. */
export function jsonLines(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line));
}

/**
 * The environment of a user with no AWS credentials anywhere: none in variables, no profile, no
 * config or credentials file under `home`, no instance metadata.
 */
export function withoutAwsCredentials(home: string): NodeJS.ProcessEnv {
  return {
    HOME: home,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: path.join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
  };
}
