import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { listImagePages } from '../../../cli/jobs/list-images.js';
import { mergeLimited } from '../../../cli/jobs/merge-pages.js';
import { countingS3Client } from '../../helpers/counting-s3-client.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';

/** Listing a prefix folder by folder, side by side, against the embedded S3. */
describe('listImagePages: folders listed side by side', () => {
  let pipeline: LocalPipeline;
  const keys: string[] = [];

  before(async () => {
    pipeline = await LocalPipeline.start();
    for (let folder = 0; folder < 5; folder++)
      for (let i = 0; i < 260; i++) keys.push(`uploads/big/f${folder}/${i % 3 === 0 ? 'deep/' : ''}${i}.jpg`);
    keys.push('uploads/big/top-1.jpg', 'uploads/big/top-2.png', 'uploads/big/readme.txt', 'uploads/big/f2/notes.txt');
    for (let i = 0; i < 260; i++) keys.push(`uploads/flat/${String(i).padStart(6, '0')}.jpg`);
    const limit = pLimit(32);
    await Promise.all(
      keys.map((key) =>
        limit(() => pipeline.s3.send(new PutObjectCommand({ Bucket: pipeline.aws.bucket, Key: key, Body: 'x' }))),
      ),
    );
  });
  after(() => pipeline?.stop());

  const collect = async (parallel: number, prefix = 'uploads/big/', s3: S3Client = pipeline.s3, pageSize?: number) => {
    const images: string[] = [];
    let objects = 0;
    let pages = 0;
    for await (const page of listImagePages(s3, { bucket: pipeline.aws.bucket, prefix }, parallel, pageSize)) {
      images.push(...page.images.map((image) => image.key));
      objects += page.objects;
      pages++;
    }
    return { images, objects, pages };
  };

  it('finds every image exactly once, as one sequential listing does', async () => {
    const sequential = await collect(1);
    const side = await collect(3);
    const big = keys.filter((key) => key.startsWith('uploads/big/'));
    const expected = big.filter((key) => !key.endsWith('.txt')).sort();
    assert.deepEqual([...sequential.images].sort(), expected);
    assert.deepEqual([...side.images].sort(), expected, 'the same images, each once');
    assert.equal(side.objects, big.length, 'every object counted once');
    assert.ok(side.pages >= 6, `a page per folder at least, and the top objects (${side.pages})`);
  });

  it('splits a flat prefix of several pages by key ranges, each image once', async () => {
    const counting = countingS3Client(pipeline);
    const flat = await collect(4, 'uploads/flat/', counting.s3, 30);
    counting.s3.destroy();
    const counts = { most: counting.mostInFlight() };
    const expected = keys.filter((key) => key.startsWith('uploads/flat/'));
    assert.equal(flat.images.length, expected.length);
    assert.deepEqual([...flat.images].sort(), expected.sort());
    assert.ok(counts.most > 1, `more than one LIST in flight at once (most: ${counts.most})`);
  });

  it('merges sources with at most `limit` read at once, and throws the first failure without leaving others unhandled', async () => {
    let reading = 0;
    let most = 0;
    const source = (id: number, fail = false) =>
      async function* () {
        for (let i = 0; i < 3; i++) {
          reading++;
          most = Math.max(most, reading);
          await new Promise((resolve) => setTimeout(resolve, 5 + id));
          reading--;
          if (fail && i === 1) throw new Error(`source ${id} failed`);
          yield `${id}:${i}`;
        }
      };
    async function* sources() {
      for (let id = 0; id < 6; id++) yield () => source(id)();
    }
    const all: string[] = [];
    for await (const item of mergeLimited(sources(), 2)) all.push(item);
    assert.equal(all.length, 18);
    assert.ok(most <= 2, `at most 2 sources read at once, saw ${most}`);
    async function* failing() {
      yield () => source(0)();
      yield () => source(1, true)();
      yield () => source(2, true)();
    }
    await assert.rejects(async () => {
      for await (const item of mergeLimited(failing(), 3)) void item;
    }, /source 1 failed/);
    // A consumer that stops early: a source's read still under way fails afterwards, and must not
    // surface as an unhandled rejection (which would end the process).
    async function* quickThenSlowFailure() {
      // Its next read is already asked for when the consumer stops, and fails later.
      yield async function* () {
        yield 'quick';
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('a late failure');
      };
    }
    for await (const item of mergeLimited(
      (async function* () {
        for await (const make of quickThenSlowFailure()) yield () => make();
      })(),
      2,
    )) {
      assert.equal(item, 'quick');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
});
