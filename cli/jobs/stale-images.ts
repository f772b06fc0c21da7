import { ObjectStore, type StoredResultTag } from '../../pipeline/object-store.js';
import type { ListedImage } from '../../pipeline/jobs/job-messages.js';
import type { JobStore } from '../../pipeline/jobs/job-store.js';
import { normalizeEtag } from '../../pipeline/result-document.js';
import { placeResult } from '../../pipeline/result-location.js';
import { CliError } from '../support/cli-error.js';
import { sourceLayoutOfTarget } from '../results/object-arguments.js';
import type { Target } from '../target/target.js';

/**
 * The fingerprint `submit --stale` compares with: the one given, else the one the workers last
 * started with (they record it in the jobs table). Said on stderr, with where it came from.
 */
export async function staleReference(store: JobStore, given: string | undefined): Promise<string> {
  if (given) {
    process.stderr.write(`--stale: comparing with fingerprint ${given} (given)\n`);
    return given;
  }
  const recorded = await store.workerFingerprint();
  if (!recorded)
    throw new CliError(
      'no worker has recorded its fingerprint yet, so --stale cannot tell a current result from a stale one: run `alexnet-pipeline smoke` after a deploy (it starts a worker), or pass --fingerprint <the fingerprint field of a current result>',
      { code: 'NO_WORKER_FINGERPRINT' },
    );
  process.stderr.write(
    `--stale: comparing with fingerprint ${recorded.fingerprint} (model ${recorded.modelSha256.slice(0, 12)}…, recorded by a worker started ${recorded.startedAt}; after a deploy, run \`smoke\` first so that the new workers record theirs)\n`,
  );
  return recorded.fingerprint;
}

/** Results looked up at once: one LIST of their range, and a HEAD for each that exists. */
const STALE_CHECK_CHUNK = 40;

/**
 * The images of a listing page whose result is missing, or was computed for other bytes (another
 * ETag) or with another fingerprint — what a worker would compute again. The page's results are
 * found as the worker finds them (`ObjectStore.existingResults`: per 40 images, one LIST of their
 * range and a HEAD for each result that exists), so a re-run over an up-to-date archive costs about one HEAD per image and
 * enqueues nothing.
 */
export async function staleImages(
  target: Target,
  images: readonly ListedImage[],
  fingerprint: string,
): Promise<ListedImage[]> {
  const layout = sourceLayoutOfTarget(target);
  const resultKeys = new Map<ListedImage, string>();
  for (const image of images) {
    const placement = placeResult(image, layout, true);
    // An image the worker would skip is left in: the job counts it as skipped, as without --stale.
    if ('result' in placement) resultKeys.set(image, placement.result.key);
  }
  const store = new ObjectStore(target.s3);
  const keys = [...resultKeys.values()];
  const tags = new Map<string, StoredResultTag | undefined>();
  // At most STALE_CHECK_CHUNK HEADs at once: the SDK's connection pool (50 sockets) is not flooded.
  for (let start = 0; start < keys.length; start += STALE_CHECK_CHUNK)
    for (const [key, tag] of await store.existingResults(target.bucket, keys.slice(start, start + STALE_CHECK_CHUNK)))
      tags.set(key, tag);
  return images.filter((image) => {
    const key = resultKeys.get(image);
    if (key === undefined) return true;
    const tag = tags.get(key);
    return !tag || tag.sourceEtag !== normalizeEtag(image.etag) || tag.fingerprint !== fingerprint;
  });
}
