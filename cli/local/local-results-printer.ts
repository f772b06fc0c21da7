import { createWriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { resultKeyFor } from '../../pipeline/object-keys.js';
import type { ResultDocument } from '../../pipeline/result-document.js';
import { readResult } from '../results/bucket-reader.js';
import { listKeys } from '../../pipeline/s3-operations.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { UNTRAINED_NOTICE } from '../results/result-format.js';
import type { Target } from '../target/target.js';

/** `1 error`, `2 errors`, `0 errors`. */
function countOf(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Options of {@link printResultsAsTheyArrive}. */
export interface ResultsPrinterOptions {
  /** When the uploads started, for each result's latency. */
  readonly uploadedAt: number;
  /** Give up after this long, seconds. */
  readonly timeoutSeconds: number;
  /** Where every result is written as JSONL at the end. */
  readonly out: string;
  /** Whether the model's weights are pretrained (else the untrained notice frames the table). */
  readonly pretrained: boolean;
}

/**
 * `local`'s output: a line per image as its result is stored (label, score, latency since the
 * upload), then all results as JSONL. Returns the exit status: 2 when some images failed.
 */
export async function printResultsAsTheyArrive(
  target: Target,
  keys: readonly string[],
  options: ResultsPrinterOptions,
): Promise<number> {
  const pending = new Map(keys.map((key) => [resultKeyFor(key, target.layout), key]));
  const results: ResultDocument[] = [];
  const width = Math.min(48, Math.max(5, ...keys.map((key) => key.length - target.layout.uploadsPrefix.length)));
  const row = (image: string, label: string, score: string, latency: string) =>
    `${image.padEnd(width)}  ${label.padEnd(28)}  ${score.padStart(6)}  ${latency.padStart(8)}`;
  if (!options.pretrained) process.stdout.write(`${UNTRAINED_NOTICE}\n\n`);
  process.stdout.write(`${row('image', 'top label', 'score', 'latency')}\n`);
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  while (pending.size > 0) {
    if (Date.now() > deadline)
      throw new CliError(`timed out after ${options.timeoutSeconds} s with ${pending.size} results missing`, {
        exitCode: EXIT.notReady,
      });
    const stored = (await listKeys(target.s3, target.bucket, target.layout.resultsPrefix)).filter((key) =>
      pending.has(key),
    );
    for (const resultKey of stored) {
      const result = await readResult(target.s3, target.bucket, resultKey);
      if (!result) continue;
      pending.delete(resultKey);
      results.push(result);
      const image = result.source.key.slice(target.layout.uploadsPrefix.length);
      const latency = `${Math.max(0, Date.parse(result.processedAt) - options.uploadedAt)} ms`;
      if (result.status === 'ok')
        process.stdout.write(`${row(image, result.labels[0]!.label, result.labels[0]!.score.toFixed(3), latency)}\n`);
      else process.stdout.write(`${row(image, `error ${result.error.code}`, '', latency)}\n`);
    }
    if (pending.size > 0) await sleep(100);
  }
  const out = createWriteStream(options.out);
  for (const result of results) out.write(`${JSON.stringify(result)}\n`);
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const failed = results.filter((result) => result.status === 'error').length;
  process.stdout.write(
    `\n${countOf(results.length, 'result')} (${countOf(failed, 'error')}) written to ${options.out}\n`,
  );
  if (!options.pretrained) process.stdout.write(`${UNTRAINED_NOTICE}\n`);
  return failed === 0 ? EXIT.ok : EXIT.someFailed;
}
