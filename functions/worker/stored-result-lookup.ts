import DataLoader from 'dataloader';
import { LIST_PAGE_SIZE, type ObjectStore, type StoredResultTag } from '../../pipeline/object-store.js';
import { PipelineError } from '../../common/errors.js';

interface ResultLocation {
  readonly bucket: string;
  readonly resultKey: string;
}

/**
 * Answers "is a result already stored for this key?" for many image jobs at once: lookups made
 * in the same tick (the records of one ReceiveMessage batch start together) are gathered by
 * DataLoader and answered with one {@link ObjectStore.existingResults} call per bucket, which
 * lists instead of sending a HEAD per image. Nothing is cached: every lookup asks S3.
 */
export class StoredResultLookup {
  private readonly loader: DataLoader<ResultLocation, StoredResultTag | undefined>;

  constructor(store: ObjectStore) {
    this.loader = new DataLoader((locations) => lookUpByBucket(store, locations), {
      cache: false,
      maxBatchSize: LIST_PAGE_SIZE,
    });
  }

  /** The stored result's tags, or undefined when there is none. Rejects with a transient error if S3 fails. */
  find(bucket: string, resultKey: string): Promise<StoredResultTag | undefined> {
    return this.loader.load({ bucket, resultKey });
  }
}

async function lookUpByBucket(
  store: ObjectStore,
  locations: readonly ResultLocation[],
): Promise<Array<StoredResultTag | undefined | Error>> {
  const keysByBucket = new Map<string, string[]>();
  for (const { bucket, resultKey } of locations) {
    const keys = keysByBucket.get(bucket) ?? [];
    keys.push(resultKey);
    keysByBucket.set(bucket, keys);
  }
  const answers = new Map<string, Map<string, StoredResultTag | undefined> | Error>();
  await Promise.all(
    [...keysByBucket].map(async ([bucket, keys]) => {
      answers.set(
        bucket,
        await store
          .existingResults(bucket, keys)
          .catch((error: unknown) =>
            error instanceof Error ? error : new PipelineError('INTERNAL_ERROR', String(error), { retryable: true }),
          ),
      );
    }),
  );
  return locations.map(({ bucket, resultKey }) => {
    const answer = answers.get(bucket)!;
    return answer instanceof Error ? answer : answer.get(resultKey);
  });
}
