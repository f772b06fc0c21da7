import type { S3Client } from '@aws-sdk/client-s3';
import { compareS3Keys } from '../../pipeline/s3-key-order.js';
import { listPageAfter, type ListedObject } from '../../pipeline/s3-operations.js';

/**
 * Key ranges of a listing split in two while it runs (see `listKeyRanges`): the point between a
 * range's last listed key and its end, as a key. Keys are read as numbers in base 96, a digit per
 * character: printable ASCII (space to `~`) are the digits 0–94, and anything after `~` (DEL, and
 * every non-ASCII character, whose UTF-8 bytes are all above) is 95; the end of a prefix's keys
 * (no end given) is the prefix followed by the digit 96. The middle of two such numbers is their
 * sum halved, written back in printable ASCII. It is a good split where keys are spread over
 * printable ASCII (names, numbers, hex), a poor one elsewhere — never a wrong one: a middle that is
 * not strictly between the two keys in S3's order is not returned, and the range is not split.
 */
export function keyBetween(after: string, prefix: string, before?: string): string | undefined {
  if (!after.startsWith(prefix) || (before !== undefined && !before.startsWith(prefix))) return undefined;
  const low = digitsOf(after.slice(prefix.length));
  const high = before === undefined ? [96] : digitsOf(before.slice(prefix.length));
  const length = Math.max(low.length, high.length) + 2;
  // low + high, digit by digit from the least significant; sum[0] takes the last carry (0 or 1).
  const sum = new Array<number>(length + 1).fill(0);
  let carry = 0;
  for (let i = length - 1; i >= 0; i--) {
    const total = (low[i] ?? 0) + (high[i] ?? 0) + carry;
    sum[i + 1] = total % 96;
    carry = Math.floor(total / 96);
  }
  sum[0] = carry;
  // Halved from the most significant digit, the remainder carried down; the carry digit halves to 0.
  const half: number[] = [];
  for (let i = 0, remainder = 0; i < sum.length; i++) {
    const value = remainder * 96 + sum[i]!;
    half.push(Math.floor(value / 2));
    remainder = value % 2;
  }
  half.shift();
  while (half.length > 1 && half.at(-1) === 0) half.pop();
  const middle = prefix + String.fromCharCode(...half.map((digit) => 0x20 + Math.min(digit, 94)));
  const inside =
    compareS3Keys(after, middle) < 0 &&
    (before === undefined ? middle.startsWith(prefix) : compareS3Keys(middle, before) < 0);
  return inside ? middle : undefined;
}

/**
 * Where a key of a prefix lies in the prefix's key space, from 0 to 1 (the end of the prefix), in
 * the digits of {@link keyBetween}: the first eight after the prefix (96^8 < 2^53: exact in a double).
 */
export function keyPosition(key: string, prefix: string): number {
  let position = 0;
  let scale = 1;
  for (const digit of digitsOf(key.slice(prefix.length)).slice(0, 8)) {
    scale /= 96;
    position += digit * scale;
  }
  return position;
}

/**
 * A range is split when more than this many pages of keys seem to be left in it (its remaining key
 * space against the key space its last page took): a short rest is listed faster than a split pays
 * for itself (a page read past the end by the lower half, a LIST for the upper half's start).
 */
export const SPLIT_WHEN_PAGES_LEFT = 4;

/**
 * Whether the rest of a range — after `cursor`, up to `end` — seems to hold more than
 * {@link SPLIT_WHEN_PAGES_LEFT} pages, judged by the key space its last page took (`pageSpan`;
 * unknown before a first full page: worth it).
 */
export function worthSplitting(
  cursor: string,
  end: string | undefined,
  pageSpan: number | undefined,
  prefix: string,
): boolean {
  if (pageSpan === undefined) return true;
  const left = (end === undefined ? 1 : keyPosition(end, prefix)) - keyPosition(cursor, prefix);
  return left >= SPLIT_WHEN_PAGES_LEFT * pageSpan;
}

function digitsOf(text: string): number[] {
  const digits: number[] = [];
  for (const character of text) {
    const code = character.codePointAt(0)!;
    digits.push(code < 0x20 ? 0 : code > 0x7e ? 95 : code - 0x20);
  }
  return digits;
}

/** A page of a key-range listing: objects in S3's order within their range (ranges interleave). */
export interface RangePage {
  readonly objects: ListedObject[];
  /** More pages follow (false on the last page of the whole listing). */
  readonly truncated: boolean;
}

/** Keys of a range: after `cursor` (the last listed, or the range's start), up to and with `end`. */
interface KeyRange {
  cursor: string | undefined;
  end: string | undefined;
  /** Its last key is listed. */
  done: boolean;
  /** The range it was split from, for an upper half. */
  readonly parent?: KeyRange;
  /** How much of the key space ({@link keyPosition}) its last full page took. */
  pageSpan?: number;
}

/**
 * Every object below a prefix, the key space split into ranges listed side by side — for a prefix
 * of flat keys, which has no folders to list apart. One listing starts at the beginning; whenever
 * a range returns a full page and fewer than `parallel` ranges run, the rest of it is split in two
 * at {@link keyBetween} and the upper half is listed from there (`StartAfter`) on its own. A range
 * ends at the first key past its end (S3 lists from a key, never to one: at most one page a range
 * reads past its end, and those keys are left to the range they belong to). An upper half that
 * holds no key costs one LIST, and the range it came from splits again at once, nearer (keys
 * numbered from 0000000 sit in a small part of the key space: a few empty halves find them).
 * Each key is listed by exactly one range. Pages come in the order
 * they arrive; each range holds at most one page waiting to be read.
 */
export async function* listKeyRanges(
  s3: S3Client,
  bucket: string,
  prefix: string,
  parallel: number,
  /** Keys per LIST page (S3's most, 1,000, unless a test wants more pages of fewer keys). */
  pageSize = 1000,
): AsyncGenerator<RangePage> {
  const ready: Array<{ readonly objects: ListedObject[]; readonly taken: () => void }> = [];
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  let failure: { readonly error: unknown } | undefined;
  let running = 0;
  let stopped = false;
  /** Splits the rest of a running range in two, the upper half listed on its own, if a listing is free. */
  const split = (range: KeyRange): void => {
    if (range.done || stopped || running >= parallel || range.cursor === undefined) return;
    if (!worthSplitting(range.cursor, range.end, range.pageSpan, prefix)) return;
    const middle = keyBetween(range.cursor, prefix, range.end);
    if (middle === undefined) return;
    const upper: KeyRange = { cursor: middle, end: range.end, done: false, parent: range };
    range.end = middle;
    void run(upper);
  };
  const run = async (range: KeyRange): Promise<void> => {
    running++;
    let emptyHalf = false;
    try {
      for (let first = true; !stopped; first = false) {
        const page = await listPageAfter(s3, bucket, prefix, range.cursor, pageSize);
        const end = range.end;
        const objects =
          end === undefined ? page.objects : page.objects.filter((object) => compareS3Keys(object.key, end) <= 0);
        const ended = !page.truncated || objects.length < page.objects.length || objects.length === 0;
        if (objects.length > 0) range.cursor = objects.at(-1)!.key;
        if (objects.length > 1)
          range.pageSpan = keyPosition(objects.at(-1)!.key, prefix) - keyPosition(objects[0]!.key, prefix);
        if (ended) range.done = true;
        else split(range);
        emptyHalf = first && objects.length === 0;
        if (objects.length > 0)
          await new Promise<void>((taken) => {
            ready.push({ objects, taken });
            notify();
          });
        if (ended) return;
      }
    } catch (error) {
      failure ??= { error };
      stopped = true;
    } finally {
      running--;
      // An upper half with no key: the keys are nearer; its range splits again at once, nearer.
      if (emptyHalf && range.parent) split(range.parent);
      notify();
    }
  };
  void run({ cursor: undefined, end: undefined, done: false });
  // One page is held back until another arrives or every range has ended: then whether it is the
  // last is known. Its range goes on meanwhile (at most one page more in memory).
  let held: ListedObject[] | undefined;
  try {
    for (;;) {
      if (failure) throw failure.error;
      if (held === undefined && ready.length > 0) {
        const next = ready.shift()!;
        next.taken();
        held = next.objects;
      } else if (held !== undefined && (ready.length > 0 || running === 0)) {
        const objects = held;
        held = undefined;
        yield { objects, truncated: ready.length > 0 || running > 0 };
      } else if (held === undefined && running === 0) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stopped = true;
    for (const waiting of ready.splice(0)) waiting.taken();
  }
}
