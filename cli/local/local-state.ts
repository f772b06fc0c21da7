import { chmod, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import lockfile from 'proper-lockfile';
import path from 'node:path';
import { cacheDirectory } from '../../common/paths.js';
import { isRunning } from '../../common/process-alive.js';
import type { LocalConnection } from '../../local/local-aws.js';
import type { KeyLayout } from '../../pipeline/object-keys.js';
import { CliError } from '../support/cli-error.js';

/** What `local --serve` leaves for `--local` commands in other terminals. */
export interface LocalServeState extends LocalConnection {
  readonly layout: KeyLayout;
  readonly pid: number;
}

/** The state file: `.cache/local-serve.json` in the project, or `$ALEXNET_LOCAL_STATE_FILE`. */
export function localStateFile(): string {
  return process.env.ALEXNET_LOCAL_STATE_FILE ?? path.join(cacheDirectory, 'local-serve.json');
}

/** The state file of a `local --serve` that has claimed it and is still starting (no endpoint yet). */
export interface ClaimedLocalState {
  readonly pid: number;
  readonly starting: true;
}

/**
 * How long a takeover's lock may go unrefreshed before another process may take it (its holder is
 * gone): proper-lockfile refreshes it while held, and a takeover holds it for milliseconds.
 */
const TAKEOVER_STALE_MS = 5_000;

/**
 * Claims the state file for this process before anything starts: the claim is written to a file of
 * this process's own and hard-linked into place, which fails if the state file exists — so the
 * state file appears whole, never empty or half-written, and of two `local --serve` started
 * together exactly one gets it. A state file of a process that no longer runs (or that is not one)
 * is taken away (see {@link removeStaleState}) and the claim tried again; one of a running process
 * is the second serve's refusal, naming it. Later, {@link writeLocalState} fills it in.
 */
export async function claimLocalState(): Promise<void> {
  const file = localStateFile();
  await mkdir(path.dirname(file), { recursive: true });
  const claim = `${file}.${process.pid}.claim`;
  await writeFile(claim, `${JSON.stringify({ pid: process.pid, starting: true } satisfies ClaimedLocalState)}\n`, {
    mode: 0o600,
  });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(claim, file);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readStateFile(file);
      if (holder && isRunning(holder.pid)) {
        const where = 'endpoint' in holder ? `, ${holder.endpoint}` : ', still starting';
        throw new CliError(
          `a local pipeline is already running for ${file} (pid ${holder.pid}${where}): stop it with Ctrl-C in its terminal or \`kill ${holder.pid}\`, or give this one its own state file with ALEXNET_LOCAL_STATE_FILE`,
        );
      }
      await removeStaleState(file, holder?.pid);
    }
  } finally {
    await rm(claim, { force: true });
  }
  throw new CliError(`${file} keeps being created by another process: is a second local --serve starting?`);
}

/**
 * Takes away a state file left by a process that is gone (killed, say), under a lock
 * (`<file>.takeover`, proper-lockfile's: an atomic `mkdir`, taken over once stale) so that one
 * process at a time does it: under it, the state file is read again and removed only if it is
 * still the stale one. Without the lock, two processes both saw the stale file, one replaced it
 * with its claim and the other then moved that claim aside — and a third linked its own in the
 * gap: two pipelines on one state file.
 */
async function removeStaleState(file: string, stalePid: number | undefined): Promise<void> {
  let compromised = false;
  const takeover = `${file}.takeover`;
  const release = await lockfile
    .lock(file, {
      lockfilePath: takeover,
      realpath: false,
      stale: TAKEOVER_STALE_MS,
      // Other takeovers take milliseconds; one whose process died is stale after TAKEOVER_STALE_MS.
      retries: { retries: 300, minTimeout: 10, maxTimeout: 50 },
      onCompromised: () => (compromised = true),
    })
    .catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      throw new CliError(`${takeover} is held by another process taking over ${file}: try again in a moment`);
    });
  try {
    // Nobody else removes the state file now, and nobody can link a claim over one that exists.
    const holder = await readStateFile(file);
    if (holder?.pid === stalePid && !compromised) await rm(file, { force: true });
  } finally {
    await release().catch(() => undefined);
  }
}

/** Writes the state file readable by its owner only (mode 0600): it holds the run's credentials. */
export async function writeLocalState(state: LocalServeState): Promise<string> {
  const file = localStateFile();
  await mkdir(path.dirname(file), { recursive: true });
  // Written beside it and renamed over it: a reader sees the claim or the whole state, never half.
  const written = `${file}.${process.pid}.tmp`;
  await writeFile(written, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await chmod(written, 0o600);
  await rename(written, file);
  return file;
}

/** The state file as it is: a running pipeline's, a claim of one still starting, or undefined. */
async function readStateFile(file = localStateFile()): Promise<LocalServeState | ClaimedLocalState | undefined> {
  try {
    const state = JSON.parse(await readFile(file, 'utf8')) as LocalServeState | ClaimedLocalState | null;
    return typeof state?.pid === 'number' ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The running pipeline's state; a claim of one still starting says so. */
export async function readLocalState(): Promise<LocalServeState | undefined> {
  const state = await readStateFile();
  if (state && 'starting' in state) {
    if (isRunning(state.pid))
      throw new CliError(`the local pipeline (pid ${state.pid}) is still starting: try again in a moment`);
    return undefined;
  }
  return state;
}

/** Removes the state file if it still describes (or is claimed by) this process. */
export async function removeLocalState(pid = process.pid): Promise<void> {
  const state = await readStateFile();
  if (state?.pid === pid) await rm(localStateFile(), { force: true });
}
