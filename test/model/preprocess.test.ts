import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ImageError, MODEL_INPUT } from '../../model/index.js';
import {
  phoneSizedJpeg,
  pngClaimingSize,
  svgDrawing,
  textPretendingToBeAnImage,
  truncated,
} from '../helpers/image-factories.js';
import { networkInput } from '../helpers/network-input.js';
import {
  fixtureImageNames,
  meanAbsoluteDifference,
  readFixtureImage,
  readReferenceTensor,
} from '../helpers/fixtures.js';

const TOLERANCE = 0.015;
const chelsea = readFixtureImage('chelsea.jpg');

async function rejects(bytes: Buffer, code: string, options = {}) {
  await assert.rejects(networkInput(bytes, options), (error: unknown) => {
    assert.ok(error instanceof ImageError, `expected ImageError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.ok(error.message.length > 10);
    return true;
  });
}

describe('decodeImage + packBatch (the production path) against torchvision', () => {
  for (const name of fixtureImageNames()) {
    it(`${name} is within ${TOLERANCE} of the reference tensor`, async () => {
      const { tensor } = await networkInput(readFixtureImage(name));
      const difference = meanAbsoluteDifference(tensor, readReferenceTensor(name));
      assert.ok(difference <= TOLERANCE, `mean absolute difference ${difference.toFixed(4)}`);
    });
  }

  it('turns an image upright by its EXIF orientation', async () => {
    const rotated = await networkInput(readFixtureImage('chelsea-exif-rotated.jpg'));
    const upright = await networkInput(chelsea);
    assert.deepEqual(rotated.size, { width: 451, height: 300 });
    // The rotated fixture was re-encoded, so it differs from chelsea.jpg by JPEG noise (~0.03) only.
    assert.ok(meanAbsoluteDifference(rotated.tensor, upright.tensor) < 0.05);
    const ignoringOrientation = await networkInput(
      await sharp(readFixtureImage('chelsea-exif-rotated.jpg')).jpeg({ quality: 95 }).toBuffer(),
    );
    assert.ok(
      meanAbsoluteDifference(ignoringOrientation.tensor, upright.tensor) > 0.2,
      'stripping EXIF must change the result',
    );
  });

  it('stays within tolerance on a phone-sized photo when the decoder shrinks on load', async () => {
    const phone = await phoneSizedJpeg(chelsea);
    const fast = await networkInput(phone);
    const exact = await networkInput(phone, { shrinkOnLoad: false });
    assert.deepEqual(fast.size, { width: 4032, height: 3024 });
    assert.ok(meanAbsoluteDifference(fast.tensor, exact.tensor) <= TOLERANCE);
  });
});

describe('decodeImage input formats', () => {
  const reference = readReferenceTensor('chelsea.jpg');
  const pixels = MODEL_INPUT.cropSize * MODEL_INPUT.cropSize;
  const cases: Array<[string, () => Promise<Buffer>, number]> = [
    ['PNG', () => sharp(chelsea).png().toBuffer(), TOLERANCE],
    ['16-bit PNG', () => sharp(chelsea).toColourspace('rgb16').png().toBuffer(), TOLERANCE],
    ['PNG with alpha', () => sharp(chelsea).ensureAlpha(0.5).png().toBuffer(), TOLERANCE],
    ['TIFF', () => sharp(chelsea).tiff({ compression: 'lzw' }).toBuffer(), TOLERANCE],
    ['WebP', () => sharp(chelsea).webp({ quality: 95 }).toBuffer(), 0.05],
    ['AVIF', () => sharp(chelsea).avif({ quality: 80 }).toBuffer(), 0.08],
    ['GIF (first frame)', () => sharp(chelsea).gif().toBuffer(), 0.15],
    // CMYK round trips through ICC profiles, which shifts colours more than a re-encode does.
    ['CMYK JPEG', () => sharp(chelsea).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(), 0.2],
  ];
  for (const [label, make, tolerance] of cases) {
    it(`reads ${label} as 8-bit sRGB RGB`, async () => {
      const { tensor } = await networkInput(await make());
      assert.equal(tensor.length, 3 * pixels);
      const difference = meanAbsoluteDifference(tensor, reference);
      assert.ok(difference <= tolerance, `${label}: mean absolute difference ${difference.toFixed(4)} > ${tolerance}`);
    });
  }

  it('reads grayscale as three equal channels', async () => {
    const { tensor } = await networkInput(await sharp(chelsea).grayscale().png().toBuffer());
    const unnormalised = (channel: number, i: number) =>
      tensor[channel * pixels + i]! * MODEL_INPUT.std[channel]! + MODEL_INPUT.mean[channel]!;
    for (let i = 0; i < pixels; i += 997) {
      assert.ok(Math.abs(unnormalised(0, i) - unnormalised(1, i)) < 1e-5);
      assert.ok(Math.abs(unnormalised(0, i) - unnormalised(2, i)) < 1e-5);
    }
  });

  it('reads the first frame of an animated GIF', async () => {
    const red = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ff0000' } })
      .raw()
      .toBuffer();
    const blue = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#0000ff' } })
      .raw()
      .toBuffer();
    const animated = await sharp(Buffer.concat([red, blue]), {
      raw: { width: 64, height: 128, channels: 3, pageHeight: 64 },
    })
      .gif({ loop: 0, delay: [100, 100] })
      .toBuffer();
    const { tensor, size } = await networkInput(animated);
    assert.deepEqual(size, { width: 64, height: 64 });
    const redValue = tensor[0]! * MODEL_INPUT.std[0] + MODEL_INPUT.mean[0];
    assert.ok(redValue > 0.95, `first frame is red, got red channel ${redValue}`);
  });
});

describe('decodeImage bad input', () => {
  it('rejects zero bytes', () => rejects(Buffer.alloc(0), 'EMPTY_FILE'));
  it('rejects a truncated JPEG', () => rejects(truncated(chelsea), 'CORRUPT_IMAGE'));
  it('rejects text renamed .jpg', () => rejects(textPretendingToBeAnImage, 'NOT_AN_IMAGE'));
  it('rejects a 20000×20000 PNG before decoding it', () => rejects(pngClaimingSize(20000, 20000), 'IMAGE_TOO_LARGE'));
  it('rejects a format it does not accept', () => rejects(svgDrawing, 'UNSUPPORTED_FORMAT'));
  it('rejects a file over the byte limit', () => rejects(chelsea, 'FILE_TOO_LARGE', { maxBytes: 1000 }));
  it('applies a configured pixel limit', () => rejects(chelsea, 'IMAGE_TOO_LARGE', { maxPixels: 451 * 300 - 1 }));
});
