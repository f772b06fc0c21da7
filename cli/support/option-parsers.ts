import { InvalidArgumentError } from 'commander';

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
