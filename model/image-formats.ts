/**
 * The image formats the model reads: the one list behind the accepted file endings (local files,
 * upload keys, S3 notification filters), the decoder check, and every message that names them.
 */
export const IMAGE_FORMATS = [
  { name: 'JPEG', decoderName: 'jpeg', extensions: ['.jpg', '.jpeg'] },
  { name: 'PNG', decoderName: 'png', extensions: ['.png'] },
  { name: 'WebP', decoderName: 'webp', extensions: ['.webp'] },
  { name: 'GIF', decoderName: 'gif', extensions: ['.gif'] },
  { name: 'TIFF', decoderName: 'tiff', extensions: ['.tif', '.tiff'] },
  { name: 'AVIF', decoderName: 'avif', extensions: ['.avif'] },
] as const;

/** File name endings of the formats the model reads, lower case. */
export const IMAGE_EXTENSIONS: readonly string[] = IMAGE_FORMATS.flatMap((format) => format.extensions);

/** True when a file or key name ends like an image this project reads (any case). */
export function hasImageExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/** "JPEG, PNG, WebP, GIF, TIFF or AVIF": the formats, for messages. */
export function describeImageFormats(): string {
  const names = IMAGE_FORMATS.map((format) => format.name);
  return `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
}

/** "jpg, jpeg, png, webp, gif, tif, tiff, avif": the endings, for messages. */
export function describeImageExtensions(): string {
  return IMAGE_EXTENSIONS.map((extension) => extension.slice(1)).join(', ');
}
