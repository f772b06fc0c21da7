import type { S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { Logger } from '../../common/logger.js';
import { hasImageExtension } from '../../model/image-formats.js';
import { resultKeyFor, resultsPrefixFor, type KeyLayout } from '../../pipeline/object-keys.js';
import { parseResultDocument } from '../../pipeline/result-schema.js';
import { addLongKeyResults } from '../results/bucket-reader.js';
import { listObjects, readObjectText, type ListedObject } from '../../pipeline/s3-operations.js';
import type { ResultCache } from '../results/result-cache.js';
import { cardOf, isResultSummary, summarizeResult, type GalleryCard, type ResultSummary } from './gallery-card.js';

export interface GalleryIndexOptions {
  readonly s3: S3Client;
  /** The pipeline's bucket, where the results are. */
  readonly bucket: string;
  readonly layout: KeyLayout;
  /** The folder shown, ending in '/': the uploads prefix or a folder below it, or a folder of `imagesBucket`. */
  readonly root: string;
  /** The bucket the images are in. Default: `bucket`. */
  readonly imagesBucket?: string;
  /**
   * Where an image's result is, or undefined for an object the pipeline does not label (not shown).
   * Default: the mirrored key below the results prefix (`resultKeyFor`).
   */
  readonly resultKeyOf?: (key: string) => string | undefined;
  /** Where the results of the images below `root` are listed. Default: `resultsPrefixFor(root)`. */
  readonly resultsFolder?: string;
  readonly logger: Logger;
  /** Result GETs in flight at once. */
  readonly concurrency?: number;
  /** Pending images whose result key is looked up on each refresh (oldest checked first, in turns). */
  readonly pendingChecksPerRefresh?: number;
  /** The shortest time between two listings of the folder. */
  readonly relistMinimumMs?: number;
  /** …and at least this many times as long as the last listing took: a big folder is listed less often… */
  readonly relistFactor?: number;
  /** …but at least this often. */
  readonly relistMaximumMs?: number;
  readonly now?: () => number;
  /** Result summaries kept by ETag between runs: a second opening of a big folder reads only what changed. */
  readonly cache?: ResultCache;
}

/** What changed since a version the page holds. */
export interface GalleryChanges {
  readonly version: number;
  readonly cards: GalleryCard[];
  /** Keys that were deleted from the bucket. */
  readonly removed: string[];
  /** Until the first listing and its results are read: how far it got. */
  readonly loading?: { readonly read: number; readonly total: number };
}

interface Entry {
  /** The upload as last listed (or as the gallery stored it). */
  upload: ListedObject;
  card: GalleryCard;
  version: number;
  /** The ETag of the result object the card was built from (undefined: none yet), and what it held. */
  resultEtag?: string;
  summary?: ResultSummary;
  /** Serialised card, to tell a real change from a re-read of the same thing. */
  fingerprint: string;
}

/**
 * What the gallery knows of the bucket: every image below its root with its result, kept current
 * without re-listing a big folder every second. The folder is listed once, then again only every
 * {@link GalleryIndexOptions.relistMinimumMs} (longer for a folder whose listing is slow) to find
 * uploads from elsewhere, deletions and rewritten results; in between, each refresh looks up the
 * result keys of a bounded number of pending images — which is how a new result shows within a
 * second or two. Results are read with bounded concurrency and only when their ETag changed.
 * Every change gets a version number, so the page asks only for what is new.
 */
export class GalleryIndex {
  private readonly entries = new Map<string, Entry>();
  private readonly removed = new Map<string, number>();
  private version = 0;
  private pendingTurn = 0;
  private nextListingAt = 0;
  private refreshing?: Promise<void>;
  private loading: { read: number; total: number } | undefined = { read: 0, total: 0 };
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly now: () => number;
  /** How many times the folder was listed: for the status line and the tests. */
  listings = 0;
  /** The last refresh's failure, for the page (cleared by the next one that works). */
  lastError: Error | undefined;

  private readonly resultKeyOf: (key: string) => string | undefined;

  constructor(private readonly options: GalleryIndexOptions) {
    this.limit = pLimit(options.concurrency ?? 32);
    this.now = options.now ?? Date.now;
    this.resultKeyOf = options.resultKeyOf ?? ((key) => resultKeyFor(key, options.layout));
  }

  /** One refresh: a listing when it is due, else a look at pending images. Calls made while one runs share it. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    try {
      if (this.now() >= this.nextListingAt) await this.relist();
      else await this.checkPending();
      this.lastError = undefined;
    } catch (error) {
      this.lastError = error as Error;
      this.options.logger.warn({ err: error }, 'gallery refresh failed');
    }
  }

  /** An image the gallery uploaded itself: shown as pending at once, its result looked up from the next refresh. */
  recordUpload(upload: ListedObject): void {
    this.removed.delete(upload.key);
    this.store(upload, undefined);
  }

  changesSince(since: number): GalleryChanges {
    const cards = [...this.entries.values()].filter((entry) => entry.version > since).map((entry) => entry.card);
    const removed = [...this.removed].filter(([, version]) => version > since).map(([key]) => key);
    return { version: this.version, cards, removed, ...(this.loading ? { loading: { ...this.loading } } : {}) };
  }

  counts(): { uploaded: number; ok: number; error: number; pending: number; untrained: number } {
    const counts = { uploaded: 0, ok: 0, error: 0, pending: 0, untrained: 0 };
    for (const { card } of this.entries.values()) {
      counts.uploaded += 1;
      counts[card.status] += 1;
      if (card.status === 'ok' && card.pretrained === false) counts.untrained += 1;
    }
    return counts;
  }

  private async relist(): Promise<void> {
    const started = this.now();
    const { s3, bucket, layout, root } = this.options;
    const resultsFolder = this.options.resultsFolder ?? resultsPrefixFor(root, layout);
    const [listedUploads, listedResults] = await Promise.all([
      listObjects(s3, this.options.imagesBucket ?? bucket, root),
      listObjects(s3, bucket, resultsFolder),
    ]);
    const uploads = listedUploads.filter(
      (object) => hasImageExtension(object.key) && this.resultKeyOf(object.key) !== undefined,
    );
    const resultEtags = new Map(listedResults.map((object) => [object.key, object.etag]));
    await addLongKeyResults(
      s3,
      bucket,
      layout,
      resultsFolder,
      uploads.map((upload) => this.resultKeyOf(upload.key)!),
      resultEtags,
    );
    this.listings += 1;
    const listingTook = this.now() - started;

    const present = new Set(uploads.map((upload) => upload.key));
    for (const key of this.entries.keys()) {
      if (!present.has(key)) {
        this.entries.delete(key);
        this.removed.set(key, ++this.version);
      }
    }
    const toRead: Array<{ upload: ListedObject; resultKey: string }> = [];
    for (const upload of uploads) {
      const resultKey = this.resultKeyOf(upload.key)!;
      const resultEtag = resultEtags.get(resultKey);
      const entry = this.entries.get(upload.key);
      if (entry && entry.card.etag === upload.etag && entry.resultEtag === resultEtag) continue;
      const cached = resultEtag === undefined ? undefined : this.options.cache?.get(resultKey, resultEtag);
      if (resultEtag === undefined) this.store(upload, undefined);
      else if (isResultSummary(cached)) this.store(upload, resultEtag, cached);
      else toRead.push({ upload, resultKey });
    }
    if (this.loading) this.loading.total = toRead.length;
    await Promise.all(
      toRead.map(({ upload, resultKey }) =>
        this.limit(async () => {
          const read = await this.readResult(resultKey);
          this.store(upload, read.etag, read.result);
          if (this.loading) this.loading.read += 1;
        }),
      ),
    );
    this.loading = undefined;
    await this.saveCache();
    const wait = Math.min(
      this.options.relistMaximumMs ?? 60_000,
      Math.max(this.options.relistMinimumMs ?? 5_000, (this.options.relistFactor ?? 20) * listingTook),
    );
    this.nextListingAt = this.now() + wait;
    this.options.logger.debug(
      {
        uploads: uploads.length,
        read: toRead.length,
        listingMs: listingTook,
        totalMs: this.now() - started,
        nextListingInMs: wait,
      },
      'gallery listing',
    );
  }

  /** Looks up the result keys of up to `pendingChecksPerRefresh` pending images, taking turns through all of them. */
  private async checkPending(): Promise<void> {
    const pending = [...this.entries.values()].filter((entry) => entry.card.status === 'pending');
    if (pending.length === 0) return;
    const count = Math.min(pending.length, this.options.pendingChecksPerRefresh ?? 32);
    const start = this.pendingTurn % pending.length;
    this.pendingTurn = start + count;
    const turn = Array.from({ length: count }, (_, i) => pending[(start + i) % pending.length]!);
    await Promise.all(
      turn.map((entry) =>
        this.limit(async () => {
          const read = await this.readResult(this.resultKeyOf(entry.upload.key)!);
          // Deleted or replaced while this read was under way: the next listing decides.
          if (this.entries.get(entry.upload.key) !== entry) return;
          if (read.result) this.store(entry.upload, read.etag, read.result);
        }),
      ),
    );
  }

  private async readResult(resultKey: string): Promise<{ result?: ResultSummary; etag?: string }> {
    const object = await readObjectText(this.options.s3, this.options.bucket, resultKey);
    if (!object) return {};
    return { result: summarizeResult(parseResultDocument(object.text)), etag: object.etag };
  }

  /** Keeps what the results listed now hold, by ETag, for the next run; a cache that cannot be written costs only speed. */
  async saveCache(): Promise<void> {
    const { cache } = this.options;
    if (!cache) return;
    const current = new Map<string, { etag: string; row: Record<string, unknown> }>();
    for (const entry of this.entries.values()) {
      if (entry.resultEtag && entry.summary)
        current.set(this.resultKeyOf(entry.card.key)!, {
          etag: entry.resultEtag,
          row: entry.summary as Record<string, unknown>,
        });
    }
    await cache
      .save(current)
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'the gallery cache could not be written'));
  }

  /** Keeps an upload and what its result holds; only a card that differs from the one held gets a new version (and reaches the pages). */
  private store(upload: ListedObject, resultEtag: string | undefined, summary?: ResultSummary): void {
    const card = cardOf(upload, this.options.root, summary);
    const fingerprint = JSON.stringify(card);
    const entry = this.entries.get(card.key);
    if (entry && entry.fingerprint === fingerprint) {
      Object.assign(entry, { upload, resultEtag, summary });
      return;
    }
    this.entries.set(card.key, { upload, card, version: ++this.version, resultEtag, summary, fingerprint });
  }
}
