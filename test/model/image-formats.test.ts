import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkFileSize,
  describeImageExtensions,
  describeImageFormats,
  hasImageExtension,
  IMAGE_EXTENSIONS,
  ImageError,
} from '../../model/index.js';

describe('image formats', () => {
  it('derives the endings and the messages from one list', () => {
    assert.deepEqual(IMAGE_EXTENSIONS, ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);
    assert.equal(describeImageFormats(), 'JPEG, PNG, WebP, GIF, TIFF or AVIF');
    assert.equal(describeImageExtensions(), 'jpg, jpeg, png, webp, gif, tif, tiff, avif');
  });

  it('recognises image names in any case, and only by their last ending', () => {
    assert.ok(hasImageExtension('a/b.JPG') && hasImageExtension('x.tiff'));
    assert.ok(!hasImageExtension('photo.jpg.txt') && !hasImageExtension('jpg') && !hasImageExtension('a.svg'));
  });
});

describe('checkFileSize', () => {
  it('passes a file at the limit and refuses one byte more with FILE_TOO_LARGE and its context', () => {
    assert.doesNotThrow(() => checkFileSize(1000, 1000));
    assert.throws(
      () => checkFileSize(1001, 1000, { key: 'uploads/a.jpg' }),
      (error: unknown) => {
        assert.ok(error instanceof ImageError);
        assert.equal(error.code, 'FILE_TOO_LARGE');
        assert.equal(error.message, 'the file has 1001 bytes, more than the limit of 1000');
        assert.deepEqual(error.context, { key: 'uploads/a.jpg', bytes: 1001, maxBytes: 1000 });
        return true;
      },
    );
  });
});
