import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheDirectory } from '../../common/paths.js';
import { RESULT_COLUMNS } from '../../pipeline/results-table.js';

/** A result object as it was read — a row of the results table (`query`), a card's result (the gallery) — keyed by the ETag it had. */
export interface CachedResult {
  readonly etag: string;
  readonly row: Record<string, unknown>;
}

/** `query`'s cache: rows of another column set are not reused, so the version names the columns too. */
export const QUERY_CACHE = {
  folder: 'query',
  version: `3:${RESULT_COLUMNS.map((column) => column.name).join(',')}`,
} as const;

/** The cache file's entries when it is one of ours of this version; anything else counts as no cache. */
function cachedEntries(value: unknown, version: string): Map<string, CachedResult> | undefined {
  const file = value as { version?: unknown; entries?: unknown } | null;
  if (file?.version !== version || typeof file.entries !== 'object' || file.entries === null) return undefined;
  const entries = new Map<string, CachedResult>();
  // A light check per entry (a schema validator took 0.1 s for 10,000 rows): a damaged entry is dropped and read again.
  for (const [key, entry] of Object.entries(file.entries as Record<string, { etag?: unknown; row?: unknown }>)) {
    if (typeof entry?.etag === 'string' && typeof entry.row === 'object' && entry.row !== null)
      entries.set(key, { etag: entry.etag, row: entry.row as Record<string, unknown> });
  }
  return entries;
}

/**
 * What a reader has made of the result objects of one bucket and prefix — `query`'s rows, the
 * gallery's cards — keyed by result key and ETag, so that the next run downloads (and parses) only
 * what is new or changed. One file per reader, endpoint, bucket and prefix below `.cache/<reader>/`,
 * readable only by its owner (results can be private); a file that does not parse, or is of another
 * version, is ignored and rewritten.
 */
export class ResultCache {
  private constructor(
    private readonly file: string,
    private readonly version: string,
    private entries: Map<string, CachedResult>,
  ) {}

  static async open(
    scope: { endpoint?: string; bucket: string; prefix: string },
    kind: { folder: string; version: string } = QUERY_CACHE,
    parentFolder = cacheDirectory,
  ): Promise<ResultCache> {
    const name = createHash('sha256')
      .update(JSON.stringify([scope.endpoint ?? 'aws', scope.bucket, scope.prefix]))
      .digest('hex')
      .slice(0, 32);
    const file = path.join(parentFolder, kind.folder, `${name}.json`);
    let entries = new Map<string, CachedResult>();
    try {
      entries = cachedEntries(JSON.parse(await readFile(file, 'utf8')), kind.version) ?? entries;
    } catch {
      // No cache yet, or an unreadable one: start empty.
    }
    return new ResultCache(file, kind.version, entries);
  }

  /** The cached row of a result key, if it was read with this ETag. */
  get(resultKey: string, etag: string): Record<string, unknown> | undefined {
    const entry = this.entries.get(resultKey);
    return entry?.etag === etag ? entry.row : undefined;
  }

  /** Replaces the cache with exactly the objects listed now (deleted ones go); unchanged, it writes nothing. */
  async save(current: ReadonlyMap<string, CachedResult>): Promise<void> {
    const unchanged =
      current.size === this.entries.size &&
      [...current].every(([key, entry]) => this.entries.get(key)?.etag === entry.etag);
    if (unchanged) return;
    this.entries = new Map(current);
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify({ version: this.version, entries: Object.fromEntries(this.entries) }), {
      mode: 0o600,
    });
    await rename(temporary, this.file);
  }
}
