/**
 * The order S3 lists keys in: by their UTF-8 bytes, which is the order of their Unicode code
 * points. JavaScript's `<` compares UTF-16 code units, which agrees except where a key holds a
 * character above U+FFFF (two surrogate units, 0xD800–0xDFFF) and the other a character from
 * U+E000 to U+FFFF at the same place; `localeCompare` agrees with neither ("B" before "a" in S3).
 */
export function compareS3Keys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return (a.codePointAt(i) ?? 0) - (b.codePointAt(i) ?? 0);
  }
  return a.length - b.length;
}

/** The first index of `sorted` (in {@link compareS3Keys} order) whose key is after `key`, or at it when `inclusive`. */
export function firstIndexAfter(sorted: readonly string[], key: string, inclusive = false): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = compareS3Keys(sorted[middle]!, key);
    if (order < 0 || (order === 0 && !inclusive)) low = middle + 1;
    else high = middle;
  }
  return low;
}
