import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageFormatError } from '../../pipeline/errors.js';
import { compareSequencers, decodeS3EventKey, encodeS3EventKey, parseS3Event } from '../../pipeline/s3-event.js';
import { nextSequencer, objectCreatedEvent, testEvent } from '../../local/s3-notification.js';
import { readAwsEventFixture } from '../helpers/fixtures.js';

const rule = { id: 'uploads', bucket: 'photos', prefix: 'uploads/', suffixes: ['.jpg'] };

describe('encodeS3EventKey / decodeS3EventKey', () => {
  it('encodes like S3 notifications: + for spaces, %2B for +, UTF-8 escapes, / kept', () => {
    assert.equal(encodeS3EventKey('uploads/cats/tabby 1.jpg'), 'uploads/cats/tabby+1.jpg');
    assert.equal(encodeS3EventKey('uploads/a+b.jpg'), 'uploads/a%2Bb.jpg');
    assert.equal(encodeS3EventKey('uploads/猫.jpg'), 'uploads/%E7%8C%AB.jpg');
    assert.equal(encodeS3EventKey("uploads/it's (1).jpg"), 'uploads/it%27s+%281%29.jpg');
  });
  it('round-trips any key', () => {
    for (const key of [
      'uploads/cats/tabby 1.jpg',
      'uploads/a+b=c&d.jpg',
      'uploads/ünïcødé/猫 (1).png',
      'uploads/100%.jpg',
      'uploads/~tilde*.jpg',
    ]) {
      assert.equal(decodeS3EventKey(encodeS3EventKey(key)), key);
    }
  });
});

describe('compareSequencers (the order of events for one key)', () => {
  it('orders by hex value, right-padding the shorter with zeros, in any case', () => {
    assert.ok(compareSequencers('0066A0B1C2D3E4F5A6', '0066A0B1C2D3E4F5B7') < 0);
    assert.ok(compareSequencers('0066A0B1C2D3E4F5B7', '0066A0B1C2D3E4F5A6') > 0);
    assert.equal(compareSequencers('0066a0b1c2', '0066A0B1C2'), 0);
    assert.ok(compareSequencers('0066A0B1C3', '0066A0B1C2D3E4F5A6') > 0, 'a shorter, later value');
    assert.equal(compareSequencers('0066A0B1C2', '0066A0B1C200'), 0, 'padding only');
  });
  it('gives the emulator a strictly increasing sequencer, even within one millisecond', () => {
    const values = [nextSequencer(1_000), nextSequencer(1_000), nextSequencer(999), nextSequencer(1_001)];
    for (let i = 1; i < values.length; i++)
      assert.ok(compareSequencers(values[i - 1]!, values[i]!) < 0, `${values[i - 1]} < ${values[i]}`);
  });
  it('drops a sequencer that is not hexadecimal', () => {
    const document = JSON.parse(readAwsEventFixture('s3-object-created-put.json'));
    document.Records[0].s3.object.sequencer = 'not hex';
    const parsed = parseS3Event(JSON.stringify(document));
    assert.equal(parsed.kind === 'records' ? parsed.records[0]!.sequencer : 'x', undefined);
  });
});

describe('parseS3Event', () => {
  it('reads ObjectCreated records with decoded keys', () => {
    const body = objectCreatedEvent({
      rule,
      region: 'eu-west-1',
      eventName: 'ObjectCreated:Put',
      key: 'uploads/tabby 1.jpg',
      size: 42,
      eTag: '"abc"',
      sequencer: '0066a0b1c2d3e4f5a6',
    });
    assert.deepEqual(parseS3Event(body), {
      kind: 'records',
      records: [
        {
          eventName: 'ObjectCreated:Put',
          bucket: 'photos',
          key: 'uploads/tabby 1.jpg',
          size: 42,
          eTag: 'abc',
          sequencer: '0066A0B1C2D3E4F5A6',
        },
      ],
    });
  });
  it('recognises the s3:TestEvent', () => {
    assert.deepEqual(parseS3Event(testEvent('photos')), { kind: 'test-event', bucket: 'photos' });
  });
  it('drops records that are not ObjectCreated', () => {
    const document = JSON.parse(
      objectCreatedEvent({
        rule,
        region: 'eu-west-1',
        eventName: 'ObjectCreated:Put',
        key: 'uploads/x.jpg',
        size: 1,
        eTag: 'e',
      }),
    );
    document.Records[0].eventName = 'ObjectRemoved:Delete';
    assert.deepEqual(parseS3Event(JSON.stringify(document)), { kind: 'records', records: [] });
  });
  for (const [label, body] of [
    ['not JSON', 'hello'],
    ['a JSON array', '[1,2]'],
    ['JSON without Records', '{"hello":"world"}'],
    ['a record without s3', '{"Records":[{"eventName":"ObjectCreated:Put"}]}'],
    ['no body', undefined],
  ] as const) {
    it(`throws MessageFormatError for ${label}`, () => {
      assert.throws(
        () => parseS3Event(body, 'm-1'),
        (error: unknown) =>
          error instanceof MessageFormatError && error.code === 'INVALID_MESSAGE' && error.context.messageId === 'm-1',
      );
    });
  }
});

describe('parseS3Event on event JSON as AWS documents it (not our own encoder)', () => {
  it('decodes a Put event key: + for spaces, UTF-8 escapes, %28 %29, and %2B for a literal +', () => {
    assert.deepEqual(parseS3Event(readAwsEventFixture('s3-object-created-put.json')), {
      kind: 'records',
      records: [
        {
          eventName: 'ObjectCreated:Put',
          bucket: 'alexnet-pipeline-images',
          key: 'uploads/holiday 2026/café (1) + more.jpg',
          size: 1_048_576,
          eTag: 'd41d8cd98f00b204e9800998ecf8427e',
          sequencer: '0066A0B1C2D3E4F5A6',
        },
      ],
    });
  });

  it('reads a multipart upload in another region with a versioned object', () => {
    const parsed = parseS3Event(readAwsEventFixture('s3-object-created-multipart.json'));
    assert.equal(parsed.kind, 'records');
    const [record] = parsed.kind === 'records' ? parsed.records : [];
    assert.equal(record?.eventName, 'ObjectCreated:CompleteMultipartUpload');
    assert.match(record!.eTag, /-2$/);
  });

  it('decodes the keys of a browser POST (UTF-8 escapes) and a CopyObject (+ for a space)', () => {
    const post = parseS3Event(readAwsEventFixture('s3-object-created-post.json'));
    const copy = parseS3Event(readAwsEventFixture('s3-object-created-copy.json'));
    assert.deepEqual(post.kind === 'records' ? post.records.map((record) => [record.eventName, record.key]) : [], [
      ['ObjectCreated:Post', 'uploads/form/猫の写真.png'],
    ]);
    assert.deepEqual(copy.kind === 'records' ? copy.records.map((record) => [record.eventName, record.key]) : [], [
      ['ObjectCreated:Copy', 'uploads/archive/2019/IMG_0001 copy.jpeg'],
    ]);
  });

  it('drops an ObjectRemoved record, which has no size or ETag', () => {
    assert.deepEqual(parseS3Event(readAwsEventFixture('s3-object-removed-delete.json')), {
      kind: 'records',
      records: [],
    });
  });

  it('recognises the s3:TestEvent S3 sends when notifications are configured', () => {
    assert.equal(parseS3Event(readAwsEventFixture('s3-test-event.json')).kind, 'test-event');
  });

  it('refuses a key with a malformed %-escape as an invalid message (retrying cannot fix it)', () => {
    const document = JSON.parse(readAwsEventFixture('s3-object-created-put.json'));
    document.Records[0].s3.object.key = 'uploads/100%-off.jpg';
    assert.throws(
      () => parseS3Event(JSON.stringify(document), 'm-2'),
      (error: unknown) => {
        assert.ok(error instanceof MessageFormatError);
        assert.match(error.message, /Records\[0\]\.s3\.object\.key is not URL-encoded as S3 encodes keys/);
        return true;
      },
    );
  });
});
