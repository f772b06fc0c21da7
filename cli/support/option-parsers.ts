import { InvalidArgumentError } from 'commander';
import { isBucketName } from '../../pipeline/bucket-names.js';

/** A commander argument parser for an integer in `[min, max]`; the message names the range. */
export function integerInRange(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    }
    return parsed;
  };
}

/** A folder below the uploads prefix as given (`cats`, `/cats/`, `cats/`) → `cats/`; nothing → ''. */
export function normalizeFolderPrefix(prefix: string | undefined): string {
  if (!prefix) return '';
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}

/** A commander argument parser for bucket names separated by commas (`--source-buckets a,b`). */
export function bucketNameList(value: string): string[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  const bad = names.find((name) => !isBucketName(name));
  if (bad !== undefined || names.length === 0)
    throw new InvalidArgumentError(
      `must be bucket names separated by commas (3 to 63 of a-z 0-9 . -), got "${bad ?? value}".`,
    );
  return names;
}
