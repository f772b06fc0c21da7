import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { GalleryRequestError } from '../../../cli/gallery/gallery-errors.js';
import { checkUploadBody, galleryUploadKey, IMAGE_MEDIA_TYPES } from '../../../cli/gallery/upload-rules.js';
import { svgDrawing } from '../../helpers/image-factories.js';

const refusal = (code: string, status: number) => (error: unknown) =>
  error instanceof GalleryRequestError && error.code === code && error.statusCode === status;

describe('gallery upload rules', () => {
  it('puts an upload below the gallery folder, in the chosen folder', () => {
    assert.equal(
      galleryUploadKey({ root: 'uploads/', uploadsPrefix: 'uploads/', folder: '', name: 'a b.jpg' }),
      'uploads/a b.jpg',
    );
    assert.equal(
      galleryUploadKey({
        root: 'uploads/pets/',
        uploadsPrefix: 'uploads/',
        folder: 'cats/young/',
        name: 'Kitten.JPEG',
      }),
      'uploads/pets/cats/young/Kitten.JPEG',
    );
  });

  it('refuses keys that would leave the uploads prefix or that the pipeline would skip', () => {
    const key =
      (folder: unknown, name: unknown, root = 'uploads/') =>
      () =>
        galleryUploadKey({ root, uploadsPrefix: 'uploads/', folder, name });
    assert.throws(
      key('', 'x.jpg', 'results/'),
      refusal('OUTSIDE_UPLOADS', 403),
      'a gallery folder outside the uploads prefix cannot upload',
    );
    assert.throws(key('../', 'x.jpg'), refusal('FOLDER_REFUSED', 403));
    assert.throws(key('a/./', 'x.jpg'), refusal('FOLDER_REFUSED', 403));
    assert.throws(key('a//', 'x.jpg'), refusal('FOLDER_REFUSED', 403));
    assert.throws(key('a', 'x.jpg'), refusal('FOLDER_REFUSED', 403), 'a folder ends in /');
    assert.throws(key('a\n/', 'x.jpg'), refusal('FOLDER_REFUSED', 403));
    assert.throws(key('', 'a/x.jpg'), refusal('BAD_FILE_NAME', 400));
    assert.throws(key('', 'x\u0007.jpg'), refusal('BAD_FILE_NAME', 400));
    assert.throws(key('', 'x.exe'), refusal('NOT_AN_IMAGE_NAME', 415));
    assert.throws(key('', ''), refusal('BAD_UPLOAD', 400));
    assert.throws(key(undefined, 'x.jpg'), refusal('BAD_UPLOAD', 400));
    assert.throws(key('', `${'n'.repeat(1020)}.jpg`), refusal('KEY_TOO_LONG', 400));
  });

  it('accepts image bodies of the formats the pipeline reads, and refuses the rest before anything is stored', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    const limits = { maxBytes: 10_000, maxPixels: 10_000 };
    assert.equal(await checkUploadBody(png, 'image/png', limits), 'image/png');
    assert.ok(IMAGE_MEDIA_TYPES.includes('image/jpeg') && IMAGE_MEDIA_TYPES.includes('image/avif'));
    await assert.rejects(checkUploadBody(png, 'text/html', limits), refusal('NOT_AN_IMAGE_TYPE', 415));
    await assert.rejects(checkUploadBody(png, undefined, limits), refusal('NOT_AN_IMAGE_TYPE', 415));
    await assert.rejects(
      checkUploadBody(png, 'image/png', { ...limits, maxBytes: png.length - 1 }),
      refusal('FILE_TOO_LARGE', 413),
    );
    await assert.rejects(
      checkUploadBody(png, 'image/png', { ...limits, maxPixels: 63 }),
      refusal('IMAGE_TOO_LARGE', 413),
    );
    await assert.rejects(checkUploadBody(svgDrawing, 'image/png', limits), refusal('UNSUPPORTED_FORMAT', 415));
    await assert.rejects(
      checkUploadBody(Buffer.from('plain text'), 'image/jpeg', limits),
      refusal('NOT_AN_IMAGE', 415),
    );
  });
});
