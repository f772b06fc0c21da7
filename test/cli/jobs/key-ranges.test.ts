import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { keyBetween, keyPosition, listKeyRanges, worthSplitting } from '../../../cli/jobs/key-ranges.js';
import { compareS3Keys } from '../../../pipeline/s3-key-order.js';
import { countingS3Client } from '../../helpers/counting-s3-client.js';
import { LocalPipeline } from '../../helpers/local-pipeline.js';

describe('keyBetween', () => {
  it('gives a key strictly between two keys of a prefix, or between a key and the end of the prefix', () => {
    const cases: Array<[string, string | undefined]> = [
      ['p/0000999.jpg', undefined],
      ['p/0000999.jpg', 'p/0099999.jpg'],
      ['p/a', 'p/b'],
      ['p/a', 'p/a!'],
      ['p/~~~', undefined],
      ['p/é', undefined],
      ['p/3f', 'p/3f0'],
    ];
    for (const [after, before] of cases) {
      const middle = keyBetween(after, 'p/', before);
      if (middle === undefined) continue;
      assert.ok(middle.startsWith('p/'), middle);
      assert.ok(compareS3Keys(after, middle) < 0, `${after} < ${middle}`);
      if (before !== undefined) assert.ok(compareS3Keys(middle, before) < 0, `${middle} < ${before}`);
    }
    // Near the middle where keys are printable ASCII: halfway from "a" to "c" is "b".
    assert.equal(keyBetween('p/a', 'p/', 'p/c'), 'p/b');
    assert.ok(keyBetween('p/0000999.jpg', 'p/', 'p/0099999.jpg')!.startsWith('p/00'));
    assert.equal(keyBetween('p/a', 'p/', 'p/a'), undefined, 'nothing is between a key and itself');
    assert.equal(keyBetween('q/a', 'p/'), undefined, 'a key of another prefix');
  });
});

describe('worthSplitting', () => {
  it('splits the rest of a range only when more than four of its last pages seem to fit in it', () => {
    // A page of keys p/a… to p/b… took 1/96 of the key space.
    const span = keyPosition('p/b', 'p/') - keyPosition('p/a', 'p/');
    assert.equal(worthSplitting('p/b', undefined, span, 'p/'), true, 'to the end of the prefix: most of it');
    assert.equal(worthSplitting('p/b', 'p/z', span, 'p/'), true, '24 pages left');
    assert.equal(worthSplitting('p/b', 'p/e', span, 'p/'), false, '3 pages left');
    assert.equal(worthSplitting('p/b', 'p/g', span, 'p/'), true, '5 pages left');
    assert.equal(worthSplitting('p/b', 'p/c', undefined, 'p/'), true, 'no full page yet: nothing known');
    assert.ok(keyPosition('p/~~~', 'p/') < 1 && keyPosition('p/', 'p/') === 0);
  });
});

describe('listKeyRanges: a flat prefix split by key ranges, against the embedded S3', () => {
  /** Pages of 100 keys (S3's are 1,000): the same listing in a tenth of the objects. */
  const PAGE_SIZE = 100;
  let pipeline: LocalPipeline;
  const written = new Map<string, string[]>();

  const list = async (s3: S3Client, prefix: string, parallel: number) => {
    const keys: string[] = [];
    let lastTruncated: boolean | undefined;
    for await (const page of listKeyRanges(s3, pipeline.aws.bucket, prefix, parallel, PAGE_SIZE)) {
      keys.push(...page.objects.map((object) => object.key));
      lastTruncated = page.truncated;
    }
    return { keys, lastTruncated };
  };

  before(async () => {
    pipeline = await LocalPipeline.start();
    written.set(
      'hashed/',
      Array.from(
        { length: 600 },
        (_, i) => `hashed/${createHash('sha256').update(String(i)).digest('hex').slice(0, 12)}.jpg`,
      ),
    );
    written.set(
      'numbered/',
      Array.from({ length: 600 }, (_, i) => `numbered/${String(i).padStart(7, '0')}.jpg`),
    );
    written.set('odd/', ['odd/é-1.jpg', 'odd/é-2.jpg', 'odd/\u{1F600}.jpg', 'odd/Z.jpg', 'odd/a.jpg', 'odd/~.jpg']);
    const limit = pLimit(32);
    await Promise.all(
      [...written.values()]
        .flat()
        .map((key) =>
          limit(() => pipeline.s3.send(new PutObjectCommand({ Bucket: pipeline.aws.bucket, Key: key, Body: 'x' }))),
        ),
    );
  });
  after(() => pipeline?.stop());

  for (const prefix of ['hashed/', 'numbered/']) {
    it(`lists every key of ${prefix} exactly once, with several ranges side by side`, async () => {
      const counting = countingS3Client(pipeline);
      const { keys, lastTruncated } = await list(counting.s3, prefix, 4);
      counting.s3.destroy();
      const counts = { requests: counting.total(), most: counting.mostInFlight() };
      assert.equal(keys.length, written.get(prefix)!.length, 'no key lost, none twice');
      assert.deepEqual([...keys].sort(compareS3Keys), [...written.get(prefix)!].sort(compareS3Keys));
      assert.equal(lastTruncated, false, 'the last page says so');
      // Numbered keys sit in a sliver of the key space: the empty upper halves find it, and the
      // listing gets to (nearly) all its ranges all the same.
      assert.ok(counts.most >= 3, `three or more LISTs in flight at once (most: ${counts.most})`);
      assert.ok(counts.most <= 4, `at most 4 in flight (most: ${counts.most})`);
      // Six pages of keys, and what splitting costs: a page read past a range's end, an empty half.
      assert.ok(counts.requests <= 6 * 4, `${counts.requests} LIST requests`);
    });
  }

  it('lists keys it cannot split well (non-ASCII), and a prefix with one page, exactly', async () => {
    assert.deepEqual((await list(pipeline.s3, 'odd/', 8)).keys, [...written.get('odd/')!].sort(compareS3Keys));
    assert.deepEqual(await list(pipeline.s3, 'nothing-here/', 8), { keys: [], lastTruncated: undefined });
  });

  it('throws the first failure of any range, with none left unhandled', async () => {
    let requests = 0;
    const failing = {
      send: async (command: Parameters<S3Client['send']>[0]) => {
        if (++requests > 3) throw new Error('LIST refused');
        return pipeline.s3.send(command);
      },
    } as unknown as S3Client;
    await assert.rejects(list(failing, 'hashed/', 4), /LIST refused/);
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
});
