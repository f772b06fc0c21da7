import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium (apt-get install chromium), or where CHROMIUM_PATH points; playwright-core
 * never downloads a browser of its own. Undefined with the reason, for tests that skip without it.
 */
export function findChromium(): { executable?: string; reason: string } {
  for (const candidate of [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    Boolean,
  ) as string[]) {
    if (existsSync(candidate)) return { executable: candidate, reason: 'found' };
  }
  return { reason: 'no Chromium found (apt-get install chromium, or set CHROMIUM_PATH)' };
}

/** Headless Chromium; without its sandbox, which cannot start as root (CI runs as root). */
export function launchChromium(executable: string): Promise<Browser> {
  return chromium.launch({
    executablePath: executable,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
}
