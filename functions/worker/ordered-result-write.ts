import { ResultWriteContendedError } from '../../pipeline/errors.js';
import type { ResultDocument } from '../../pipeline/result-document.js';
import { compareSequencers } from '../../pipeline/s3-event.js';
import type { ObjectStore, StoredResultTag } from '../../pipeline/object-store.js';

/** The version of an image a result answers: its ETag, and the sequencer of its event where it had one. */
export interface SourceVersion {
  readonly etag: string;
  readonly sequencer?: string;
}

/** Rounds of read-and-write a result gets while other writers keep changing it first. */
export const MAX_WRITE_ROUNDS = 5;

/**
 * Stores `document` unless the stored result is for a newer version of the image: a result never
 * goes back in time, whichever worker writes last. Each round reads the stored result (or takes the
 * one the caller already read), decides, and writes with S3's condition that it is still the one
 * read (`If-Match` its ETag, or `If-None-Match: *` when there was none), so the compare and the
 * write are one step; a writer that loses the race reads again and decides again. A stored result of
 * the same version and fingerprint counts as this one (nothing is written). Returns `older`
 * when a newer version's result is stored (nothing is written). After {@link MAX_WRITE_ROUNDS} lost
 * races it gives up with a retryable error: the message goes back to the queue.
 */
export async function writeResultInOrder(
  store: ObjectStore,
  bucket: string,
  resultKey: string,
  document: ResultDocument,
  version: SourceVersion,
  alreadyRead?: { readonly stored: StoredResultTag | undefined },
): Promise<'stored' | 'older'> {
  let stored = alreadyRead ? alreadyRead.stored : await store.existingResult(bucket, resultKey);
  for (let round = 0; round < MAX_WRITE_ROUNDS; round++) {
    if (stored && isThisResult(stored, document.fingerprint, version)) return 'stored';
    if (stored && !(await isAtLeastAsNew(store, bucket, document.source.key, version, stored))) return 'older';
    const condition = stored ? { ifMatch: stored.resultEtag } : ({ ifNoneExists: true } as const);
    if (await store.writeResult(bucket, resultKey, document, condition, version.sequencer)) return 'stored';
    stored = await store.existingResult(bucket, resultKey);
  }
  throw new ResultWriteContendedError(bucket, resultKey, MAX_WRITE_ROUNDS);
}

/**
 * Whether the stored result is this one already: the same bytes (ETag) by the same fingerprint,
 * and no newer event than the one it answered — a write whose answer was lost after S3 made it, or
 * another worker's for a message delivered twice. Writing it again would change nothing but the
 * object's ETag. A newer event for the same bytes (uploaded again) still writes: its sequencer must
 * be the stored one, or a late event of a version in between would be taken for newer.
 */
function isThisResult(stored: StoredResultTag, fingerprint: string, mine: SourceVersion): boolean {
  if (stored.sourceEtag !== mine.etag || stored.fingerprint !== fingerprint) return false;
  if (!mine.sequencer) return true;
  return stored.sourceSequencer !== undefined && compareSequencers(stored.sourceSequencer, mine.sequencer) >= 0;
}

/**
 * Whether `mine` is the same version as the stored result's or a newer one. Two sequencers decide
 * (S3's order of events for one key); without both, the same ETag is the same version, and otherwise
 * the object itself says which version is the newest: mine is, if it is still the object's.
 */
async function isAtLeastAsNew(
  store: ObjectStore,
  bucket: string,
  key: string,
  mine: SourceVersion,
  stored: StoredResultTag,
): Promise<boolean> {
  if (mine.sequencer && stored.sourceSequencer) return compareSequencers(mine.sequencer, stored.sourceSequencer) >= 0;
  if (stored.sourceEtag === mine.etag) return true;
  return (await store.currentEtag(bucket, key)) === mine.etag;
}
