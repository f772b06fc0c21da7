import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../common/aws-clients.js';
import { LocalAws } from '../../local/local-aws.js';
import { listPage } from '../../local/ordered-s3-store.js';
import { compareS3Keys } from '../../pipeline/s3-key-order.js';

/** S3's order, by definition: the keys' UTF-8 bytes. */
const byUtf8 = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

describe('compareS3Keys', () => {
  it('orders keys by their UTF-8 bytes, as S3 lists them (not by UTF-16 units, not by locale)', () => {
    assert.ok(compareS3Keys('B', 'a') < 0, 'upper case before lower case');
    assert.ok(compareS3Keys('photo', 'photo.jpg') < 0);
    // U+1F600 is two UTF-16 units starting 0xD83D, below U+E000's one unit; in UTF-8 it is after.
    assert.ok(compareS3Keys('x\u{1F600}', 'x\uE000') > 0);
    assert.equal(compareS3Keys('same', 'same'), 0);
    const alphabet = ['a', 'B', 'z', '0', '-', '/', 'é', '\uE000', '\uFFFD', '\u{1F600}', '\u{10000}', ' '];
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff;
    const keys = Array.from({ length: 2000 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 5) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(
        '',
      ),
    );
    assert.deepEqual([...keys].sort(compareS3Keys), [...keys].sort(byUtf8));
  });
});

describe('listPage', () => {
  const keys = ['a.jpg', 'b/1', 'b/2', 'c/1', 'd.jpg'].sort(compareS3Keys);
  const page = (options: Parameters<typeof listPage>[2]) => {
    const answer = listPage(keys, (key) => ({ key }), options);
    return {
      keys: answer.objects.map((object) => object.key),
      prefixes: answer.commonPrefixes,
      more: answer.isTruncated,
    };
  };

  it('rolls keys up into common prefixes, each once, and starts after a common prefix it was given', () => {
    assert.deepEqual(page({ delimiter: '/' }), { keys: ['a.jpg', 'd.jpg'], prefixes: ['b/', 'c/'], more: false });
    assert.deepEqual(page({ delimiter: '/', startAfter: 'b/' }), { keys: ['d.jpg'], prefixes: ['c/'], more: false });
    assert.deepEqual(page({ delimiter: '/', startAfter: 'b/1' }), { keys: ['d.jpg'], prefixes: ['c/'], more: false });
  });

  it('ends a page at its last key rather than in common prefixes after it (the next page starts from that key)', () => {
    assert.deepEqual(page({ delimiter: '/', maxKeys: 3 }), { keys: ['a.jpg'], prefixes: [], more: true });
    assert.deepEqual(page({ delimiter: '/', maxKeys: 2, startAfter: 'a.jpg' }), {
      keys: [],
      prefixes: ['b/', 'c/'],
      more: true,
    });
    assert.deepEqual(page({ delimiter: '/', startAfter: 'c/' }), { keys: ['d.jpg'], prefixes: [], more: false });
  });

  it('lists below a prefix only, from the prefix on when the start is before it', () => {
    assert.deepEqual(page({ prefix: 'b/', startAfter: 'a.jpg' }), { keys: ['b/1', 'b/2'], prefixes: [], more: false });
    assert.deepEqual(page({ prefix: 'b/', maxKeys: 1 }), { keys: ['b/1'], prefixes: [], more: true });
  });
});

describe('the embedded S3 lists as S3 does', () => {
  let aws: LocalAws;
  let s3: S3Client;
  before(async () => {
    aws = await LocalAws.start();
    s3 = createS3Client(aws.clientOptions());
  });
  after(async () => {
    s3.destroy();
    await aws.stop();
  });

  const listAll = async (prefix: string, pageSize: number, delimiter?: string) => {
    const keys: string[] = [];
    const prefixes: string[] = [];
    const pages = paginateListObjectsV2(
      { client: s3, pageSize },
      { Bucket: aws.bucket, Prefix: prefix, ...(delimiter ? { Delimiter: delimiter } : {}) },
    );
    for await (const page of pages) {
      keys.push(...(page.Contents ?? []).map((object) => object.Key!));
      prefixes.push(...(page.CommonPrefixes ?? []).map((common) => common.Prefix!));
    }
    return { keys, prefixes };
  };

  it('lists every key of a mixed-case bucket once, in UTF-8 order, over many pages', async () => {
    const written = [];
    for (let i = 0; i < 150; i++)
      written.push(`mixed/${i % 2 ? 'Photo' : 'photo'}-${String(i).padStart(3, '0')}.jpg`, `mixed/ÉTÉ-${i}.jpg`);
    written.push('mixed/\u{1F600}.jpg', 'mixed/\uE000.jpg');
    for (const key of written) await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'x' }));
    const { keys } = await listAll('mixed/', 7);
    assert.equal(keys.length, written.length, 'every key listed, none twice');
    assert.deepEqual(keys, [...written].sort(byUtf8));
  });

  it('keeps its order as keys are written and deleted between pages', async () => {
    for (const key of ['later/b', 'later/d'])
      await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'later/c', Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: 'later/b' }));
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'later/a', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'later/c', Body: 'again' }));
    assert.deepEqual((await listAll('later/', 1)).keys, ['later/a', 'later/c', 'later/d']);
  });

  it('names each common prefix once when pages hold keys and common prefixes', async () => {
    for (const key of ['rolled/a.jpg', 'rolled/b/1', 'rolled/b/2', 'rolled/c.jpg', 'rolled/d/1'])
      await s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: 'x' }));
    for (const pageSize of [1, 2, 3])
      assert.deepEqual(await listAll('rolled/', pageSize, '/'), {
        keys: ['rolled/a.jpg', 'rolled/c.jpg'],
        prefixes: ['rolled/b/', 'rolled/d/'],
      });
  });
});
