import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { hasImageExtension } from '../model/index.js';

/** What expanding the command line's paths gave. */
export interface ExpandedPaths {
  /** Files in command-line order; folders expand to their images, sorted, recursively. */
  readonly files: string[];
  /** Files inside folders that were passed over because their names are not images. */
  readonly skipped: string[];
}

/**
 * Expands files and folders. A file named on the command line is always kept, even one that does
 * not exist or is not an image, so that it gets its own error result; inside folders only names
 * with image endings are taken.
 */
export async function expandImagePaths(paths: readonly string[]): Promise<ExpandedPaths> {
  const files: string[] = [];
  const skipped: string[] = [];
  for (const given of paths) {
    const info = await stat(given).catch(() => undefined);
    if (!info?.isDirectory()) {
      files.push(given);
      continue;
    }
    for (const file of await filesBelow(given)) (hasImageExtension(file) ? files : skipped).push(file);
  }
  return { files, skipped };
}

/** Every regular file below a folder, recursively, in sorted path order. */
export async function filesBelow(folder: string): Promise<string[]> {
  const files: string[] = [];
  const entries = await readdir(folder, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await filesBelow(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}
