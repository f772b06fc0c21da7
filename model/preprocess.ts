import sharp, { type Metadata } from 'sharp';
import { IMAGE_TENSOR_LENGTH, MODEL_INPUT } from './constants.js';
import { ImageError } from './errors.js';
import { centerCropRegion, resizedSize, uprightSize, type Size } from './image-size.js';
import { normalizeRgbToChw } from './normalize.js';

/** Limits that protect memory from hostile or accidental inputs. */
export interface PreprocessOptions {
  /** Largest accepted file, in bytes. Default: 50 MiB. */
  readonly maxBytes?: number;
  /** Largest accepted image, in pixels (width × height), against decompression bombs. Default: 100 megapixels. */
  readonly maxPixels?: number;
}

export const DEFAULT_PREPROCESS_OPTIONS: Required<PreprocessOptions> = {
  maxBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
};

/** Formats accepted as input. AVIF is reported by libvips as `heif` with AV1 compression. */
const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif']);

/** One image ready for the network, with what was learnt while decoding it. */
export interface PreprocessedImage {
  /** `[3, 224, 224]` float32, CHW, normalised. */
  readonly tensor: Float32Array;
  /** The decoded format (`jpeg`, `png`, …). */
  readonly format: string;
  /** Size of the upright image before resizing. */
  readonly size: Size;
}

/**
 * torchvision's ImageNet evaluation transform on encoded image bytes: turn upright by EXIF
 * orientation, convert to 8-bit sRGB RGB, resize the shorter side to 256 (bilinear with
 * antialiasing; libvips' `linear` kernel is that filter), centre-crop 224, scale and normalise.
 * Throws {@link ImageError} for anything that cannot become a tensor.
 */
export async function preprocessImage(bytes: Uint8Array, options: PreprocessOptions = {}): Promise<PreprocessedImage> {
  const { maxBytes, maxPixels } = { ...DEFAULT_PREPROCESS_OPTIONS, ...options };
  if (bytes.length === 0) throw new ImageError('EMPTY_FILE', 'the file is empty (0 bytes)');
  if (bytes.length > maxBytes) {
    throw new ImageError('FILE_TOO_LARGE', `the file has ${bytes.length} bytes, more than the limit of ${maxBytes}`, {
      context: { bytes: bytes.length, maxBytes },
    });
  }

  const { format, size } = await readImageHeader(bytes, maxPixels);
  const resized = resizedSize(size);
  if (resized.width * resized.height > maxPixels) {
    throw new ImageError('IMAGE_TOO_LARGE', `a ${size.width}×${size.height} image resizes to ${resized.width}×${resized.height}, more than the limit of ${maxPixels} pixels`, {
      context: { ...size, maxPixels },
    });
  }
  const crop = centerCropRegion(resized);

  let rgb: Buffer;
  try {
    rgb = await sharp(bytes, { limitInputPixels: maxPixels, sequentialRead: true })
      .rotate()
      .removeAlpha()
      .resize(resized.width, resized.height, { kernel: 'linear', fit: 'fill' })
      .extract(crop)
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer();
  } catch (error) {
    throw new ImageError('CORRUPT_IMAGE', `the ${format} image cannot be decoded: ${(error as Error).message}`, {
      cause: error,
      context: { format },
    });
  }
  const pixelCount = MODEL_INPUT.cropSize * MODEL_INPUT.cropSize;
  if (rgb.length !== pixelCount * 3) {
    throw new ImageError('CORRUPT_IMAGE', `decoding gave ${rgb.length} bytes instead of ${pixelCount * 3}`);
  }
  return { tensor: normalizeRgbToChw(rgb, pixelCount, new Float32Array(IMAGE_TENSOR_LENGTH)), format, size };
}

async function readImageHeader(bytes: Uint8Array, maxPixels: number): Promise<{ format: string; size: Size }> {
  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch (error) {
    const message = (error as Error).message;
    if (/unsupported image format/i.test(message)) {
      throw new ImageError('NOT_AN_IMAGE', 'the content is not an image in any format this tool reads (JPEG, PNG, WebP, GIF, TIFF, AVIF)', { cause: error });
    }
    throw new ImageError('CORRUPT_IMAGE', `the image header cannot be read: ${message}`, { cause: error });
  }
  const format = metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : String(metadata.format);
  if (!ACCEPTED_FORMATS.has(format)) {
    throw new ImageError('UNSUPPORTED_FORMAT', `${format} images are not supported; use JPEG, PNG, WebP, GIF, TIFF or AVIF`, {
      context: { format },
    });
  }
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  if (width <= 0 || height <= 0) throw new ImageError('CORRUPT_IMAGE', 'the image header gives no size');
  if (width * height > maxPixels) {
    throw new ImageError('IMAGE_TOO_LARGE', `the image is ${width}×${height} (${width * height} pixels), more than the limit of ${maxPixels}`, {
      context: { width, height, maxPixels },
    });
  }
  return { format, size: uprightSize({ width, height }, metadata.orientation) };
}
