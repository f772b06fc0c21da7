import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from './cli-error.js';

/**
 * Checks, before any work, that `--out` can be written: not a folder, in a folder that exists and
 * is writable. Finding out after a long run that the results have nowhere to go loses the run.
 */
export async function checkOutputFile(file: string, option = '--out'): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory())
    throw new CliError(`${option} ${file} is a folder: name a file, e.g. ${path.join(file, 'results.jsonl')}`);
  const folder = path.dirname(path.resolve(file));
  const folderInfo = await stat(folder).catch(() => undefined);
  if (!folderInfo?.isDirectory())
    throw new CliError(`${option} ${file}: the folder ${folder} does not exist; create it first`);
  await access(info ? file : folder, constants.W_OK).catch(() => {
    throw new CliError(`${option} ${file}: ${info ? 'the file' : `the folder ${folder}`} is not writable`);
  });
}
