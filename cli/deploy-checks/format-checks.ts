import { type CheckResult } from './deploy-checks.js';

/** One aligned line per check. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  return results
    .map((result) => `${result.status.padEnd(4)}  ${result.name.padEnd(width)}  ${result.detail}`)
    .join('\n');
}
