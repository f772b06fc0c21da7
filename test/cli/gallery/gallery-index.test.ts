import assert from 'node:assert/strict';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { after, before, beforeEach, describe, it } from 'node:test';
import { isResultSummary } from '../../../cli/gallery/gallery-card.js';
import { GalleryIndex } from '../../../cli/gallery/gallery-index.js';
import { GALLERY_CACHE } from '../../../cli/gallery/gallery-server.js';
import { ResultCache } from '../../../cli/results/result-cache.js';
import { silentLogger } from '../../../common/logger.js';
import { DEFAULT_KEY_LAYOUT, resultKeyFor } from '../../../pipeline/object-keys.js';
import { countingS3Client } from '../../helpers/counting-s3-client.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';
import { resultDocument } from '../../helpers/result-documents.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

describe('gallery index: list once, then only what is new', () => {
  let pipeline: LocalPipeline;
  let clock: number;
  let counted: ReturnType<typeof countingS3Client>;
  let index: GalleryIndex;
  let folder = 0;
  let root: string;

  async function storeResult(key: string, label: string): Promise<void> {
    const { etag } = await pipeline.head(key);
    const base = resultDocument(key, { labels: [[label, 0.9]] });
    await pipeline.upload(
      resultKeyFor(key, DEFAULT_KEY_LAYOUT),
      JSON.stringify({ ...base, source: { ...base.source, etag } }),
    );
  }
  const calls = (name: string) => counted.calls.get(name) ?? 0;

  before(async () => {
    pipeline = await LocalPipeline.start();
  });
  after(() => pipeline.aws.stop());
  beforeEach(async () => {
    // Each test has its own folder, and its own clock: a listing is due again 10 s after the last.
    folder += 1;
    root = `uploads/run-${folder}/`;
    clock = 1_000_000;
    counted = countingS3Client(pipeline);
    for (let i = 0; i < 6; i += 1) await pipeline.upload(`${root}image-${i}.jpg`, `bytes ${i}`);
    await storeResult(`${root}image-0.jpg`, 'tabby');
    index = new GalleryIndex({
      s3: counted.s3,
      bucket: pipeline.aws.bucket,
      layout: DEFAULT_KEY_LAYOUT,
      root,
      logger: silentLogger,
      relistMinimumMs: 10_000,
      relistFactor: 20,
      pendingChecksPerRefresh: 2,
      now: () => clock,
    });
    await index.refresh();
  });

  it('lists the folder once, then finds new results of pending images without listing again', async () => {
    assert.equal(index.listings, 1);
    const listed = calls('ListObjectsV2Command');
    assert.equal(index.counts().pending, 5);
    await storeResult(`${root}image-3.jpg`, 'beagle');
    const before = index.changesSince(0).version;
    // Five pending images, two looked up per refresh: within three refreshes each had its turn.
    for (let refresh = 0; refresh < 3; refresh += 1) {
      clock += 1_000;
      await index.refresh();
    }
    assert.equal(calls('ListObjectsV2Command'), listed, 'no listing before one is due');
    assert.equal(index.listings, 1);
    const changes = index.changesSince(before);
    assert.deepEqual(
      changes.cards.map((card) => [card.key, card.status, card.labels?.[0]?.label]),
      [[`${root}image-3.jpg`, 'ok', 'beagle']],
    );
  });

  it('looks up at most the configured number of pending result keys per refresh', async () => {
    const gets = calls('GetObjectCommand');
    clock += 1_000;
    await index.refresh();
    assert.equal(calls('GetObjectCommand') - gets, 2);
  });

  it('lists again when due, finding uploads from elsewhere and deletions, and reads only results whose ETag changed', async () => {
    await pipeline.upload(`${root}from-the-cli.jpg`, 'more bytes');
    await pipeline.s3.send(new DeleteObjectCommand({ Bucket: pipeline.aws.bucket, Key: `${root}image-5.jpg` }));
    const version = index.changesSince(0).version;
    clock += 5_000;
    await index.refresh();
    assert.equal(index.listings, 1, 'not due yet');
    assert.ok(!index.changesSince(version).cards.some((card) => card.key.endsWith('from-the-cli.jpg')));
    const gets = calls('GetObjectCommand');
    clock += 10_000;
    await index.refresh();
    assert.equal(index.listings, 2);
    const changes = index.changesSince(version);
    assert.deepEqual(
      changes.cards.map((card) => [card.key, card.status]),
      [[`${root}from-the-cli.jpg`, 'pending']],
    );
    assert.deepEqual(changes.removed, [`${root}image-5.jpg`]);
    assert.equal(calls('GetObjectCommand'), gets, 'the unchanged result of image-0 is not read again');
    await storeResult(`${root}image-0.jpg`, 'tiger cat');
    clock += 10_000;
    await index.refresh();
    assert.equal(calls('GetObjectCommand'), gets + 1, 'a rewritten result is read once');
    assert.equal(
      index.changesSince(0).cards.find((card) => card.key === `${root}image-0.jpg`)?.labels?.[0]?.label,
      'tiger cat',
    );
  });

  /** An index whose every reading of the clock moves it on by half a second: each listing "took" half a second. */
  const slowIndex = (relistMaximumMs?: number) =>
    new GalleryIndex({
      s3: counted.s3,
      bucket: pipeline.aws.bucket,
      layout: DEFAULT_KEY_LAYOUT,
      root,
      logger: silentLogger,
      relistMinimumMs: 1_000,
      relistFactor: 20,
      relistMaximumMs,
      now: () => (clock += 500),
    });

  it('lists a folder whose listing is slow less often', async () => {
    const slow = slowIndex();
    await slow.refresh();
    for (let i = 0; i < 5; i += 1) await slow.refresh();
    assert.equal(slow.listings, 1, 'a listing that took 0.5 s is not repeated within 10 s (20 times as long)');
  });

  it('still lists at least every relistMaximumMs, however slow the listing', async () => {
    const slow = slowIndex(2_000);
    await slow.refresh();
    for (let i = 0; i < 5; i += 1) await slow.refresh();
    assert.equal(slow.listings, 2, 'listed again after 2 s, not after 10 s');
  });

  it('keeps result summaries by ETag between runs: a second opening reads only the results that changed', async () => {
    const folder = temporaryFolder('alexnet-gallery-cache-');
    const open = async () =>
      ResultCache.open({ endpoint: 'test', bucket: pipeline.aws.bucket, prefix: root }, GALLERY_CACHE, folder);
    const options = {
      s3: counted.s3,
      bucket: pipeline.aws.bucket,
      layout: DEFAULT_KEY_LAYOUT,
      root,
      logger: silentLogger,
    };
    await new GalleryIndex({ ...options, cache: await open() }).refresh();
    await storeResult(`${root}image-1.jpg`, 'beagle');
    const gets = calls('GetObjectCommand');
    const second = new GalleryIndex({ ...options, cache: await open() });
    await second.refresh();
    assert.equal(calls('GetObjectCommand') - gets, 1, 'image-0 from the cache, only the new result of image-1 read');
    const labels = Object.fromEntries(
      second.changesSince(0).cards.map((card) => [card.key.slice(root.length), card.labels?.[0]?.label]),
    );
    assert.deepEqual(
      [labels['image-0.jpg'], labels['image-1.jpg'], labels['image-2.jpg']],
      ['tabby', 'beagle', undefined],
    );
  });

  it('reads a cached summary only when it has the shape of one', () => {
    const summary = {
      status: 'ok',
      labels: [{ label: 'tabby', score: 0.5 }],
      sourceEtag: 'e',
      processedAt: 't',
      device: 'cpu',
      pretrained: false,
      weights: 'w',
    };
    assert.equal(isResultSummary(summary), true);
    assert.equal(isResultSummary({ problem: 'not JSON' }), true);
    assert.equal(isResultSummary({ ...summary, labels: [{ label: 3 }] }), false);
    assert.equal(isResultSummary({ ...summary, status: 'error' }), false, 'an error needs its code and message');
    assert.equal(isResultSummary({ status: 'ok' }), false);
    assert.equal(isResultSummary(null), false);
  });

  it('finds the result of an upload key too long to mirror in its own folder', async () => {
    const key = `${root}${'k'.repeat(1024 - root.length - '.jpg'.length)}.jpg`;
    await pipeline.upload(key, 'long');
    await storeResult(key, 'lynx');
    assert.match(resultKeyFor(key, DEFAULT_KEY_LAYOUT), /^results\/_long-keys\//);
    clock += 10_000;
    await index.refresh();
    assert.deepEqual(
      index
        .changesSince(0)
        .cards.filter((card) => card.key === key)
        .map((card) => [card.status, card.labels?.[0]?.label]),
      [['ok', 'lynx']],
    );
  });
});
