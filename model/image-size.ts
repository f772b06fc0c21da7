import { MODEL_INPUT } from './constants.js';

/** A width and height in pixels. */
export interface Size {
  readonly width: number;
  readonly height: number;
}

/** A crop rectangle in pixels. */
export interface CropRegion extends Size {
  readonly left: number;
  readonly top: number;
}

/**
 * torchvision's `Resize(256)` size arithmetic: the shorter side becomes 256 and the longer side
 * `int(256 * long / short)`, truncated (not rounded).
 */
export function resizedSize(size: Size, shorterSide: number = MODEL_INPUT.resizeShorterSide): Size {
  if (size.width <= size.height) {
    return { width: shorterSide, height: Math.trunc((shorterSide * size.height) / size.width) };
  }
  return { width: Math.trunc((shorterSide * size.width) / size.height), height: shorterSide };
}

/** torchvision's `CenterCrop(224)` offsets: `int(round((size - 224) / 2))` with Python's rounding. */
export function centerCropRegion(size: Size, cropSize: number = MODEL_INPUT.cropSize): CropRegion {
  return {
    left: roundHalfToEven((size.width - cropSize) / 2),
    top: roundHalfToEven((size.height - cropSize) / 2),
    width: cropSize,
    height: cropSize,
  };
}

/** Python 3's `round()`: halves go to the even neighbour (round(0.5) = 0, round(1.5) = 2). */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The size of an image once turned upright: EXIF orientations 5–8 swap width and height. */
export function uprightSize(size: Size, exifOrientation: number | undefined): Size {
  return exifOrientation !== undefined && exifOrientation >= 5 ? { width: size.height, height: size.width } : size;
}
