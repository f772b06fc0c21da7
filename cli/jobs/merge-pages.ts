/**
 * The items of several async iterators, up to `limit` of them read side by side, in the order they
 * arrive: each active iterator has one `next()` in flight, so at most `limit` items wait at once
 * (memory bounded whatever the sources hold). `sources` is read lazily, one more source whenever
 * one ends. The first failure of any source is thrown; the others' later failures are not left
 * unhandled.
 */
export async function* mergeLimited<T>(
  sources: AsyncIterable<() => AsyncIterator<T>>,
  limit: number,
): AsyncGenerator<T> {
  type Step = { readonly id: number; readonly result?: IteratorResult<T>; readonly error?: unknown };
  const pending = new Map<number, { iterator: AsyncIterator<T>; step: Promise<Step> }>();
  const next = (id: number, iterator: AsyncIterator<T>): Promise<Step> =>
    iterator.next().then(
      (result) => ({ id, result }),
      (error: unknown) => ({ id, error }),
    );
  const upcoming = sources[Symbol.asyncIterator]();
  let exhausted = false;
  let ids = 0;
  const fill = async () => {
    while (!exhausted && pending.size < limit) {
      const source = await upcoming.next();
      if (source.done) exhausted = true;
      else {
        const id = ids++;
        const iterator = source.value();
        pending.set(id, { iterator, step: next(id, iterator) });
      }
    }
  };
  try {
    await fill();
    while (pending.size > 0) {
      const step = await Promise.race([...pending.values()].map((entry) => entry.step));
      if (step.error !== undefined) throw step.error;
      const entry = pending.get(step.id)!;
      if (step.result!.done) {
        pending.delete(step.id);
        await fill();
        continue;
      }
      entry.step = next(step.id, entry.iterator);
      yield step.result!.value;
    }
  } finally {
    for (const entry of pending.values()) void entry.iterator.return?.();
  }
}
