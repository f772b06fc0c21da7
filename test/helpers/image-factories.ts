import { crc32 } from 'node:zlib';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/**
 * A valid PNG header that claims `width × height` pixels over a tiny compressed body: a
 * decompression bomb that costs nothing to make.
 */
export function pngClaimingSize(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typeAndData));
    return Buffer.concat([length, typeAndData, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(width * 3 + 1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The first half of an encoded image: a truncated file. */
export function truncated(bytes: Buffer, keep = 0.5): Buffer {
  return bytes.subarray(0, Math.floor(bytes.length * keep));
}

/** Text saved under an image name. */
export const textPretendingToBeAnImage = Buffer.from('This is a shopping list, not a photo.\nmilk\neggs\n', 'utf8');

/** A small SVG drawing: an image format sharp reads but the model does not accept. */
export const svgDrawing = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="red"/></svg>',
);

/** A phone-sized (4032×3024) JPEG made by enlarging an image, as users upload them. */
export async function phoneSizedJpeg(source: Buffer, quality = 90): Promise<Buffer> {
  return sharp(source).resize(4032, 3024, { fit: 'fill' }).jpeg({ quality }).toBuffer();
}
