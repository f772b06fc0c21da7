/** File name endings of the formats the model reads (JPEG, PNG, WebP, GIF, TIFF, AVIF). */
export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif'] as const;

/** True when a file or key name ends like an image this project reads (any case). */
export function hasImageExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot >= 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(name.slice(dot).toLowerCase());
}
