import sharp, { type Metadata } from 'sharp';
import { MODEL_INPUT } from './constants.js';
import { ImageError } from './errors.js';
import { describeImageFormats, IMAGE_FORMATS } from './image-formats.js';
import { checkFileSize } from './image-limits.js';
import { centerCropRegion, resizedSize, uprightSize, type CropRegion, type Size } from './image-size.js';

/**
 * libvips settings for decoding many small images at once; the entry points (the worker, the CLI,
 * the benchmark) call this once at start-up. One libvips thread per image: images are decoded
 * several at a time (see the callers' limits), which uses the cores with less synchronisation than
 * splitting each small image across threads. No operation cache: every image is new, so caching
 * would only cost memory and hashing.
 */
export function configureImageDecoding(): void {
  sharp.concurrency(1);
  sharp.cache(false);
}

/** Limits that protect memory from hostile or accidental inputs. */
export interface PreprocessOptions {
  /** Largest accepted file, in bytes. Default: 50 MiB. */
  readonly maxBytes?: number;
  /** Largest accepted image, in pixels (width × height), against decompression bombs. Default: 100 megapixels. */
  readonly maxPixels?: number;
  /**
   * Let JPEG and WebP decoders shrink while decoding (much faster on phone-sized photos, within the
   * preprocessing tolerance). Default: true; false decodes at full size first.
   */
  readonly shrinkOnLoad?: boolean;
}

/**
 * Holds memory for one decode: called with the decode's estimated working memory (see
 * {@link decodeMemoryEstimate}) once the header is read and before any pixel is decoded; the
 * returned function is called when the decode is over. The worker bounds its memory with it.
 */
export type ReserveDecodeMemory = (bytes: number) => Promise<() => void>;

export const DEFAULT_PREPROCESS_OPTIONS: Required<PreprocessOptions> = {
  maxBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
  shrinkOnLoad: true,
};

/** Formats accepted as input (libvips' names). AVIF is reported by libvips as `heif` with AV1 compression. */
const ACCEPTED_FORMATS = new Set<string>(IMAGE_FORMATS.map((format) => format.decoderName));

/** One image decoded, resized and cropped: 224×224 interleaved 8-bit RGB, not yet normalised. */
export interface DecodedImage {
  /** `224 × 224 × 3` bytes, HWC, RGB. Handed to the inference thread, which normalises it into the batch. */
  readonly rgb: Uint8Array;
  /** The decoded format (`jpeg`, `png`, …). */
  readonly format: string;
  /** Size of the upright image before resizing. */
  readonly size: Size;
}

/**
 * The decoding half of torchvision's ImageNet evaluation transform: turn upright by EXIF
 * orientation, convert to 8-bit sRGB RGB, resize the shorter side to 256 (bilinear with
 * antialiasing; libvips' `linear` kernel is that filter) and centre-crop 224. Normalisation is
 * left to whoever packs the batch. Throws {@link ImageError} for anything that cannot become a tensor.
 */
export async function decodeImage(
  bytes: Uint8Array,
  options: PreprocessOptions = {},
  reserveMemory?: ReserveDecodeMemory,
): Promise<DecodedImage> {
  const { maxBytes, maxPixels, shrinkOnLoad } = { ...DEFAULT_PREPROCESS_OPTIONS, ...options };
  if (bytes.length === 0) throw new ImageError('EMPTY_FILE', 'the file is empty (0 bytes)');
  checkFileSize(bytes.length, maxBytes);

  const header = await readImageHeader(bytes, maxPixels);
  const { format, size } = header;
  const resized = resizedSize(size);
  if (resized.width * resized.height > maxPixels) {
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `a ${size.width}×${size.height} image resizes to ${resized.width}×${resized.height}, more than the limit of ${maxPixels} pixels`,
      {
        context: { ...size, maxPixels },
      },
    );
  }
  const crop = centerCropRegion(resized);

  let rgb: Buffer;
  const releaseMemory = await reserveMemory?.(decodeMemoryEstimate(header));
  try {
    rgb = await decodeResizeAndCrop(bytes, { maxPixels, shrinkOnLoad, hasAlpha: header.hasAlpha, resized, crop });
  } catch (error) {
    throw new ImageError('CORRUPT_IMAGE', `the ${format} image cannot be decoded: ${(error as Error).message}`, {
      cause: error,
      context: { format },
    });
  } finally {
    releaseMemory?.();
  }
  const expected = MODEL_INPUT.cropSize * MODEL_INPUT.cropSize * MODEL_INPUT.channels;
  if (rgb.length !== expected) {
    throw new ImageError('CORRUPT_IMAGE', `decoding gave ${rgb.length} bytes instead of ${expected}`);
  }
  return { rgb, format, size };
}

/**
 * Decodes upright 8-bit sRGB, resizes and crops. libvips premultiplies alpha around a resize, while
 * torchvision drops alpha before it (`convert('RGB')`); images with alpha therefore lose it in a
 * first pass so that semi-transparent pixels keep torchvision's colours.
 */
async function decodeResizeAndCrop(
  bytes: Uint8Array,
  plan: { maxPixels: number; shrinkOnLoad: boolean; hasAlpha: boolean; resized: Size; crop: CropRegion },
): Promise<Buffer> {
  let image = sharp(bytes, { limitInputPixels: plan.maxPixels, sequentialRead: true }).rotate();
  if (plan.hasAlpha) {
    const { data, info } = await image
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    image = sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
  }
  return image
    .resize(plan.resized.width, plan.resized.height, {
      kernel: 'linear',
      fit: 'fill',
      fastShrinkOnLoad: plan.shrinkOnLoad,
    })
    .extract(plan.crop)
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer();
}

/** What the header says about an image: enough to plan and bound its decode. */
export interface ImageHeader {
  readonly format: string;
  /** Upright size of the first frame. */
  readonly size: Size;
  readonly hasAlpha: boolean;
  /** Bands per pixel as stored (1 grey … 4 CMYK or RGBA). */
  readonly channels: number;
  /** Bytes per band (1 for 8-bit, 2 for 16-bit). */
  readonly bytesPerChannel: number;
}

/**
 * The most memory one decode of this image may take: the full first frame at its stored depth
 * and bands, plus the 8-bit copy an image with alpha gets (libvips then materialises the frame).
 * Shrink-on-load usually needs far less; this is the bound, not the typical case.
 */
export function decodeMemoryEstimate(header: ImageHeader): number {
  const pixels = header.size.width * header.size.height;
  const decoded = pixels * header.channels * header.bytesPerChannel;
  return header.hasAlpha ? decoded + pixels * 3 : decoded;
}

/**
 * An image's header, read without decoding its pixels: its format must be one this tool reads and
 * its pixel count within `maxPixels`, else an {@link ImageError} (`NOT_AN_IMAGE`,
 * `UNSUPPORTED_FORMAT`, `CORRUPT_IMAGE`, `IMAGE_TOO_LARGE`). Also the gallery's check of an upload.
 */
export async function readImageHeader(bytes: Uint8Array, maxPixels: number): Promise<ImageHeader> {
  let metadata: Metadata;
  try {
    // Header only: the pixel limit is checked below with a clearer error than libvips' own.
    metadata = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    const message = (error as Error).message;
    if (/unsupported image format/i.test(message)) {
      throw new ImageError(
        'NOT_AN_IMAGE',
        `the content is not an image in any format this tool reads (${describeImageFormats()})`,
        { cause: error },
      );
    }
    throw new ImageError('CORRUPT_IMAGE', `the image header cannot be read: ${message}`, { cause: error });
  }
  const format = metadata.format === 'heif' && metadata.compression === 'av1' ? 'avif' : String(metadata.format);
  if (!ACCEPTED_FORMATS.has(format)) {
    throw new ImageError('UNSUPPORTED_FORMAT', `${format} images are not supported; use ${describeImageFormats()}`, {
      context: { format },
    });
  }
  const width = metadata.width ?? 0;
  const height = metadata.pageHeight ?? metadata.height ?? 0;
  if (width <= 0 || height <= 0) throw new ImageError('CORRUPT_IMAGE', 'the image header gives no size');
  if (width * height > maxPixels) {
    throw new ImageError(
      'IMAGE_TOO_LARGE',
      `the image is ${width}×${height} (${width * height} pixels), more than the limit of ${maxPixels}`,
      {
        context: { width, height, maxPixels },
      },
    );
  }
  return {
    format,
    size: uprightSize({ width, height }, metadata.orientation),
    hasAlpha: metadata.hasAlpha === true,
    channels: metadata.channels ?? 3,
    bytesPerChannel:
      metadata.depth === 'ushort' || metadata.depth === 'short'
        ? 2
        : metadata.depth === 'float' || metadata.depth === 'uint' || metadata.depth === 'int'
          ? 4
          : metadata.depth === 'double'
            ? 8
            : 1,
  };
}
