import type { BuildAppOptions } from 'fauxqs';
import { compareS3Keys, firstIndexAfter } from '../pipeline/s3-key-order.js';

/** What this module uses of an object in fauxqs's S3 store. */
interface StoredObject {
  readonly key: string;
}

/** What this module uses of fauxqs's S3 store (`fauxqs/dist/s3/s3Store.js`, which its package does not export). */
interface FauxqsS3Store {
  readonly buckets: Map<string, Map<string, StoredObject>>;
  createBucket(name: string): void;
  listObjects(bucket: string, options?: ListOptions): ListAnswer;
}

interface ListOptions {
  readonly prefix?: string;
  readonly delimiter?: string;
  readonly maxKeys?: number;
  readonly startAfter?: string;
  readonly marker?: string;
}

interface ListAnswer {
  readonly objects: StoredObject[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
}

/** The largest code point: a key prefix followed by it sorts after every key with that prefix. */
const AFTER_EVERY_KEY = String.fromCodePoint(0x10ffff);

/**
 * A bucket's objects by key, which also keeps its keys in S3's order (a sorted array, a key put
 * in or taken out by binary search), so that a page of a listing is found without sorting.
 */
class KeyOrderedMap<V> extends Map<string, V> {
  readonly sortedKeys: string[] = [];

  override set(key: string, value: V): this {
    if (!this.has(key)) this.sortedKeys.splice(firstIndexAfter(this.sortedKeys, key, true), 0, key);
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    if (this.has(key)) this.sortedKeys.splice(firstIndexAfter(this.sortedKeys, key, true), 1);
    return super.delete(key);
  }

  override clear(): void {
    this.sortedKeys.length = 0;
    super.clear();
  }
}

/**
 * A page of a listing, as S3 answers it, from keys in S3's order: keys after `startAfter` below
 * `prefix`, those with `delimiter` after the prefix rolled up into one common prefix each, at
 * most `maxKeys` entries. A page that would end in common prefixes after some keys ends at its
 * last key instead (S3 may answer fewer than `maxKeys`): fauxqs takes the next page's start
 * from the last key when there is one, and would list those common prefixes twice.
 */
export function listPage<T extends StoredObject>(
  sortedKeys: readonly string[],
  objectOf: (key: string) => T,
  options: ListOptions,
): { objects: T[]; commonPrefixes: string[]; isTruncated: boolean } {
  const prefix = options.prefix ?? '';
  const maxKeys = options.maxKeys ?? 1000;
  const startAfter = options.startAfter || options.marker || '';
  const objects: T[] = [];
  const commonPrefixes: string[] = [];
  /** Common prefixes put on the page since its last key. */
  let prefixesAfterLastKey = 0;
  let index =
    compareS3Keys(startAfter, prefix) >= 0
      ? firstIndexAfter(sortedKeys, startAfter)
      : firstIndexAfter(sortedKeys, prefix, true);
  let isTruncated = false;
  while (index < sortedKeys.length && sortedKeys[index]!.startsWith(prefix)) {
    const key = sortedKeys[index]!;
    const at = options.delimiter ? key.indexOf(options.delimiter, prefix.length) : -1;
    const commonPrefix = at >= 0 ? key.slice(0, at + options.delimiter!.length) : undefined;
    if (objects.length + commonPrefixes.length >= maxKeys) {
      isTruncated = true;
      break;
    }
    if (commonPrefix === undefined) {
      objects.push(objectOf(key));
      prefixesAfterLastKey = 0;
      index++;
    } else {
      // A common prefix at or before where the page starts was on an earlier page.
      if (compareS3Keys(commonPrefix, startAfter) > 0) {
        commonPrefixes.push(commonPrefix);
        prefixesAfterLastKey++;
      }
      index = firstIndexAfter(sortedKeys, commonPrefix + AFTER_EVERY_KEY);
    }
  }
  if (isTruncated && objects.length > 0 && prefixesAfterLastKey > 0)
    commonPrefixes.splice(commonPrefixes.length - prefixesAfterLastKey);
  return { objects, commonPrefixes, isTruncated };
}

/**
 * fauxqs's S3 store, listing as S3 lists. fauxqs sorts every key of a bucket with `localeCompare`
 * for each page, and then skips keys with `<`: the orders disagree (`localeCompare` puts "a"
 * before "B", S3 and `<` the other way), so a listing of more than one page of mixed-case keys
 * loses keys; and a page costs a sort of the whole bucket (300 ms at 100,000 keys). Here each
 * bucket keeps its keys in S3's order as they are written, and a page is a binary search and a walk.
 *
 * The store's class is loaded from fauxqs's files, as `buildApp` accepts a store of it.
 */
export async function orderedS3Stores(): Promise<NonNullable<BuildAppOptions['stores']>> {
  const storeFile = new URL('./s3/s3Store.js', import.meta.resolve('fauxqs'));
  let S3Store: new () => FauxqsS3Store;
  try {
    ({ S3Store } = (await import(storeFile.href)) as { S3Store: new () => FauxqsS3Store });
  } catch (error) {
    throw new Error(
      `fauxqs's S3 store is not at ${storeFile.pathname} (this project is tested with fauxqs 1.9): ${String(error)}`,
    );
  }
  class OrderedS3Store extends S3Store {
    override createBucket(name: string): void {
      super.createBucket(name);
      const objects = this.buckets.get(name);
      if (objects && !(objects instanceof KeyOrderedMap)) {
        const ordered = new KeyOrderedMap<StoredObject>();
        for (const [key, value] of objects) ordered.set(key, value);
        this.buckets.set(name, ordered);
      }
    }

    override listObjects(bucket: string, options: ListOptions = {}): ListAnswer {
      const objects = this.buckets.get(bucket);
      if (!(objects instanceof KeyOrderedMap)) return super.listObjects(bucket, options);
      return listPage(objects.sortedKeys, (key) => objects.get(key)!, options);
    }
  }
  // fauxqs makes the SQS and SNS stores it is not given.
  return { s3Store: new OrderedS3Store() } as unknown as NonNullable<BuildAppOptions['stores']>;
}
