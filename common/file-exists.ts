import { access } from 'node:fs/promises';

/** True when something exists at `filePath` (and this process may see it). */
export async function fileExists(filePath: string): Promise<boolean> {
  try {
    await access(filePath);
    return true;
  } catch {
    return false;
  }
}
