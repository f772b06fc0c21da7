import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3_MAX_KEY_BYTES } from '../../pipeline/object-keys.js';
import { placeResult, sourceOfResultKey, type SourceLayout } from '../../pipeline/result-location.js';

const layout: SourceLayout = {
  uploadsPrefix: 'uploads/',
  resultsPrefix: 'results/',
  bucketName: 'pipeline',
  sourceBuckets: ['my-archive'],
};

/** Where a record's result goes, as `bucket/key`, or its skip reason. */
function placed(bucket: string, key: string, fromJob: boolean): string {
  const placement = placeResult({ bucket, key }, layout, fromJob);
  return 'skip' in placement ? `skip:${placement.skip}` : `${placement.result.bucket}/${placement.result.key}`;
}

describe('placeResult', () => {
  it('mirrors uploads, and puts a job’s other images below results/_buckets/<bucket>/ in the pipeline’s bucket', () => {
    const table: Array<[string, string, boolean, string]> = [
      ['pipeline', 'uploads/cats/a.jpg', false, 'pipeline/results/cats/a.jpg.json'],
      ['pipeline', 'uploads/cats/a.jpg', true, 'pipeline/results/cats/a.jpg.json'],
      ['my-archive', 'photos/a.jpg', true, 'pipeline/results/_buckets/my-archive/photos/a.jpg.json'],
      ['pipeline', 'scans/b.png', true, 'pipeline/results/_buckets/pipeline/scans/b.png.json'],
      // S3's notifications are trusted for uploads only; a bucket not given is never read.
      ['my-archive', 'photos/a.jpg', false, 'skip:not-a-source-bucket'],
      ['pipeline', 'scans/b.png', false, 'skip:outside-uploads-prefix'],
      ['someone-else', 'a.jpg', true, 'skip:not-a-source-bucket'],
      // The pipeline's own folders, and the upload folders whose mirrored keys would collide.
      ['pipeline', 'results/x.jpg', true, 'skip:results-prefix'],
      ['pipeline', '_jobs/job-1/a.jpg', true, 'skip:reserved-folder'],
      ['pipeline', 'uploads/_buckets/my-archive/photos/a.jpg', false, 'skip:reserved-folder'],
      ['pipeline', 'uploads/_long-keys/abc.jpg', true, 'skip:reserved-folder'],
      ['my-archive', 'photos/notes.txt', true, 'skip:not-an-image-name'],
    ];
    for (const [bucket, key, fromJob, expected] of table)
      assert.equal(placed(bucket, key, fromJob), expected, `${bucket}/${key} fromJob=${fromJob}`);
  });

  it('gives a key too long to mirror a short key of its own, distinct per bucket', () => {
    const key = `photos/${'k'.repeat(S3_MAX_KEY_BYTES - 20)}.jpg`;
    const here = placed('my-archive', key, true);
    const there = placed('pipeline', key, true);
    assert.match(here, /^pipeline\/results\/_long-keys\/[0-9a-f]{64}\.json$/);
    assert.notEqual(here, there);
  });

  it('reads the image back from its result key, and nothing from other keys', () => {
    assert.deepEqual(sourceOfResultKey('results/_buckets/my-archive/photos/2019/c.jpg.json', layout), {
      bucket: 'my-archive',
      key: 'photos/2019/c.jpg',
    });
    for (const key of ['results/cats/a.jpg.json', 'results/_buckets/my-archive.json', 'results/_buckets/b/x.jpg'])
      assert.equal(sourceOfResultKey(key, layout), undefined, key);
  });
});
