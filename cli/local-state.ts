import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
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

export async function writeLocalState(state: LocalServeState): Promise<string> {
  const file = localStateFile();
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`);
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
