import pLimit from 'p-limit';
import { uploadKeyFor } from '../../pipeline/object-keys.js';
import { parseResultDocument } from '../../pipeline/result-schema.js';
import { RESULT_COLUMNS, resultRowValues } from '../../pipeline/results-table.js';
import { listObjects, readObjectText } from '../../pipeline/s3-operations.js';
import { createProgress } from '../support/progress-bar.js';
import type { Target } from '../target/target.js';
import { ResultCache, type CachedResult } from '../results/result-cache.js';

/** The rows of the `results` table for one target and prefix, and how they were obtained. */
export interface LoadedRows {
  readonly rows: Record<string, unknown>[];
  readonly downloaded: number;
  readonly fromCache: number;
  /** Objects below the results prefix that are not result documents: rows with status `unreadable`. */
  readonly unreadable: number;
}

/** GETs in flight at once: enough to hide S3's latency, few enough for one machine's sockets. */
export const DOWNLOAD_CONCURRENCY = 32;

/**
 * Lists the result objects below `resultsPrefix` and reads each one that the cache does not hold
 * with the same ETag (bounded concurrency, a progress bar on a terminal), then updates the cache.
 * An object that is not a result document becomes a row with status `unreadable`.
 */
export async function loadResultRows(
  target: Target,
  resultsPrefix: string,
  options: { cache?: ResultCache; concurrency?: number } = {},
): Promise<LoadedRows> {
  // The cache file is read while the listing pages come in.
  const [cache, objects] = await Promise.all([
    options.cache ?? ResultCache.open({ endpoint: target.endpoint, bucket: target.bucket, prefix: resultsPrefix }),
    listObjects(target.s3, target.bucket, resultsPrefix),
  ]);
  const listed = objects.filter((object) => object.key.endsWith('.json'));
  const current = new Map<string, CachedResult>();
  const missing = listed.filter((object) => {
    const row = cache.get(object.key, object.etag);
    if (row !== undefined) current.set(object.key, { etag: object.etag, row });
    return row === undefined;
  });
  const fromCache = current.size;
  const progress = createProgress(missing.length, 'reading results');
  const limit = pLimit(options.concurrency ?? DOWNLOAD_CONCURRENCY);
  try {
    await Promise.all(
      missing.map((object) =>
        limit(async () => {
          try {
            const read = await readObjectText(target.s3, target.bucket, object.key);
            // Deleted since the listing: not a row.
            if (read)
              current.set(object.key, { etag: read.etag || object.etag, row: rowOf(object.key, read.text, target) });
          } finally {
            progress.increment();
          }
        }),
      ),
    );
  } finally {
    progress.stop();
  }
  await cache.save(current);
  const rows = [...current.values()].map((entry) => entry.row);
  return {
    rows,
    downloaded: current.size - fromCache,
    fromCache,
    unreadable: rows.filter((row) => row.status === UNREADABLE).length,
  };
}

const UNREADABLE = 'unreadable';

/** A result object's text as its row: the result's columns, or an `unreadable` row saying why. */
function rowOf(resultKey: string, text: string, target: Target): Record<string, unknown> {
  const parsed = parseResultDocument(text);
  return 'document' in parsed ? resultRowValues(parsed.document) : unreadableRow(resultKey, parsed.problem, target);
}

/** A row for an object that is not a result: its upload key where the result key names one, the problem as the message. */
function unreadableRow(resultKey: string, problem: string, target: Target): Record<string, unknown> {
  let key = resultKey;
  try {
    key = uploadKeyFor(resultKey, target.layout);
  } catch {
    // Not a result key of an upload (e.g. a long-key result): show the object's own key.
  }
  const row: Record<string, unknown> = Object.fromEntries(RESULT_COLUMNS.map((column) => [column.name, null]));
  return { ...row, key, status: UNREADABLE, error_code: 'UNREADABLE_RESULT', error_message: problem };
}
