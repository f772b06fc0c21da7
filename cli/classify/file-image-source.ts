import {
  DEFAULT_PREPROCESS_OPTIONS,
  readImageFile,
  type ImageSource,
  type PreprocessOptions,
} from '../../model/index.js';

/** A local file as an image source; a missing, oversized or unreadable file becomes an `ImageError`. */
export function fileImageSource(file: string, limits: PreprocessOptions = {}): ImageSource {
  return {
    name: file,
    read: () => readImageFile(file, limits.maxBytes ?? DEFAULT_PREPROCESS_OPTIONS.maxBytes),
  };
}
