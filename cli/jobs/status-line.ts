/**
 * One line of progress on stderr, rewritten in place, when stderr is a terminal; nothing otherwise
 * (pipes, CI, tests), so that stdout stays machine-readable. Updates are drawn at most every 100 ms.
 */
export function createStatusLine(stream: NodeJS.WriteStream = process.stderr) {
  let last = 0;
  let drawn = false;
  return {
    update(text: string, force = false): void {
      if (!stream.isTTY) return;
      const now = Date.now();
      if (!force && now - last < 100) return;
      last = now;
      drawn = true;
      stream.write(`\r\x1b[K${text.slice(0, (stream.columns ?? 100) - 1)}`);
    },
    done(): void {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
