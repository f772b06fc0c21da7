import { rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { constants } from 'node:os';
import path from 'node:path';
import { isRunning } from '../../common/process-alive.js';

/** A download under way: `.checkpoint-<pid>.pth.part` beside the model it becomes. */
const PART_FILE = /^\.checkpoint-(\d+)\.pth\.part$/;

/** Where this process downloads a checkpoint to, in `folder`. */
export function partFileFor(folder: string, pid = process.pid): string {
  return path.join(folder, `.checkpoint-${pid}.pth.part`);
}

/**
 * Removes the part files in `folder` of processes that no longer run (a download killed with
 * SIGKILL, or a machine that went down, leaves one of a few hundred MB). A running download's is
 * left alone. Returns the files removed.
 */
export async function removeStalePartFiles(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const pid = PART_FILE.exec(name)?.[1];
    return pid !== undefined && Number(pid) !== process.pid && !isRunning(Number(pid));
  });
  await Promise.all(stale.map((name) => rm(path.join(folder, name), { force: true })));
  return stale.map((name) => path.join(folder, name));
}

/**
 * Until the returned function is called, Ctrl-C (SIGINT) or SIGTERM removes `file` and ends the
 * process as that signal would (exit 130 or 143): an interrupted download leaves nothing behind.
 */
export function removeOnSignal(file: string): () => void {
  const handler = (signal: NodeJS.Signals) => {
    rmSync(file, { force: true });
    process.exit(128 + constants.signals[signal]);
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  };
}
