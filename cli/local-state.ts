import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheDirectory } from '../common/paths.js';
import type { LocalCredentials } from '../local/local-aws.js';
import type { KeyLayout } from '../pipeline/object-keys.js';

/** What `local --serve` leaves for `--local` commands in other terminals. */
export interface LocalServeState {
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly credentials: LocalCredentials;
  readonly layout: KeyLayout;
  readonly pid: number;
}

/** The state file: `.cache/local-serve.json` in the project, or `$ALEXNET_LOCAL_STATE_FILE`. */
export function localStateFile(): string {
  return process.env.ALEXNET_LOCAL_STATE_FILE ?? path.join(cacheDirectory, 'local-serve.json');
}

/** Writes the state file readable by its owner only (mode 0600): it holds the run's credentials. */
export async function writeLocalState(state: LocalServeState): Promise<string> {
  const file = localStateFile();
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

export async function readLocalState(): Promise<LocalServeState | undefined> {
  try {
    return JSON.parse(await readFile(localStateFile(), 'utf8')) as LocalServeState;
  } catch {
    return undefined;
  }
}

/** Removes the state file if it still describes this process. */
export async function removeLocalState(pid = process.pid): Promise<void> {
  const state = await readLocalState();
  if (state?.pid === pid) await rm(localStateFile(), { force: true });
}

/** True while a process with this id runs (it may belong to another user). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
