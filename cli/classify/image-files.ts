import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { CliError } from '../support/cli-error.js';
import { describeImageExtensions, hasImageExtension } from '../../model/image-formats.js';

/** An image file found on the command line or below a folder named there. */
export interface FoundFile {
  readonly file: string;
  /** Its path below the folder it was found in (a named file: its base name), `/`-separated. */
  readonly relative: string;
}

/** A file passed over, and why. */
export interface SkippedFile {
  readonly file: string;
  readonly reason: string;
}

/** Options of {@link collectImageFiles}. */
export interface CollectOptions {
  /** Keep a named file even when it is special, a link to nothing or not an image name (classify gives it an error line). Default: false. */
  readonly keepNamedPaths?: boolean;
}

/**
 * Expands files and folders into image files, by one rule for `upload` and `classify`: symbolic
 * links are followed, to files and to folders, with a guard against loops; FIFOs, sockets and
 * devices are never opened (reading one could block for ever) and are skipped with a reason; inside
 * folders only names with image endings are taken, in sorted order. A named path that does not
 * exist stops the command before any work (`error: <path> does not exist`, exit 1), in every command.
 */
export async function collectImageFiles(
  paths: readonly string[],
  options: CollectOptions = {},
): Promise<{ files: FoundFile[]; skipped: SkippedFile[] }> {
  const files: FoundFile[] = [];
  const skipped: SkippedFile[] = [];
  for (const given of paths) {
    const info = await stat(given).catch(() => undefined);
    if (!info) {
      const dangling = await lstat(given).then(
        (link) => link.isSymbolicLink(),
        () => false,
      );
      if (!dangling) throw new CliError(`${given} does not exist`, { code: 'PATH_NOT_FOUND' });
      if (options.keepNamedPaths) files.push({ file: given, relative: path.basename(given) });
      else skipped.push({ file: given, reason: 'a symbolic link to nothing' });
    } else if (info.isDirectory()) {
      await walk(given, '', new Set([await realpath(given)]), files, skipped);
    } else if (options.keepNamedPaths || (info.isFile() && hasImageExtension(given))) {
      files.push({ file: given, relative: path.basename(given) });
    } else {
      skipped.push({
        file: given,
        reason: info.isFile()
          ? `not an image name (${describeImageExtensions()})`
          : 'not a regular file (a FIFO, socket or device is never read)',
      });
    }
  }
  return { files, skipped };
}

async function walk(
  folder: string,
  relative: string,
  seen: Set<string>,
  files: FoundFile[],
  skipped: SkippedFile[],
): Promise<void> {
  const entries = await readdir(folder);
  entries.sort();
  for (const name of entries) {
    const full = path.join(folder, name);
    const below = relative ? `${relative}/${name}` : name;
    const info = await stat(full).catch(() => undefined);
    if (!info) skipped.push({ file: full, reason: 'a symbolic link to nothing' });
    else if (info.isDirectory()) {
      const real = await realpath(full);
      if (seen.has(real))
        skipped.push({ file: full, reason: 'a symbolic link back into a folder already walked (a loop)' });
      else await walk(full, below, new Set([...seen, real]), files, skipped);
    } else if (!info.isFile())
      skipped.push({ file: full, reason: 'not a regular file (a FIFO, socket or device is never read)' });
    else if (hasImageExtension(name)) files.push({ file: full, relative: below });
    else skipped.push({ file: full, reason: `not an image name (${describeImageExtensions()})` });
  }
}

/** One warning per skipped file, with its reason. */
export function warnSkipped(logger: Logger, skipped: readonly SkippedFile[]): void {
  for (const { file, reason } of skipped) logger.warn({ file, reason }, 'skipped');
}
