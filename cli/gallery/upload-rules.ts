import mime from 'mime-types';
import { describeError } from '../../common/errors.js';
import { describeImageExtensions, hasImageExtension, IMAGE_EXTENSIONS } from '../../model/image-formats.js';
import { checkFileSize } from '../../model/image-limits.js';
import { readImageHeader } from '../../model/preprocess.js';
import { S3_MAX_KEY_BYTES } from '../../pipeline/object-keys.js';
import { GalleryRequestError } from './gallery-errors.js';

/** Each image ending the pipeline reads and its media type (`.jpg` → `image/jpeg`, …), for the page's checks and uploads. */
export const IMAGE_MEDIA_TYPE_BY_EXTENSION: Readonly<Record<string, string>> = Object.fromEntries(
  IMAGE_EXTENSIONS.map((extension) => [extension, mime.lookup(extension)]).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  ),
);

/** The media types of the image formats the pipeline reads (`image/jpeg`, …): the only bodies an upload may have. */
export const IMAGE_MEDIA_TYPES: readonly string[] = [...new Set(Object.values(IMAGE_MEDIA_TYPE_BY_EXTENSION))];

// Characters that have no place in a key someone picked in a file dialog: control characters
// (C0, DEL, C1) and the Unicode line and paragraph separators.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** True for '' (the folder itself) or a relative folder ending in '/' with no empty, '.' or '..' parts. */
export function isRelativeFolder(folder: string): boolean {
  return (
    folder === '' ||
    (folder.endsWith('/') &&
      folder
        .split('/')
        .slice(0, -1)
        .every((part) => part !== '' && part !== '.' && part !== '..'))
  );
}

/**
 * The key an upload from the page goes to: `root` + `folder` + `name`, where `folder` is '' or a
 * relative folder ending in '/' and `name` a file name with an image ending. Refuses (400/403/415)
 * anything that would leave the uploads prefix or make a key the pipeline would skip.
 */
export function galleryUploadKey(request: {
  root: string;
  uploadsPrefix: string;
  folder: unknown;
  name: unknown;
}): string {
  const { folder, name } = request;
  if (typeof name !== 'string' || name.length === 0)
    throw new GalleryRequestError(400, 'BAD_UPLOAD', 'the upload names no file (name=)');
  if (typeof folder !== 'string')
    throw new GalleryRequestError(400, 'BAD_UPLOAD', 'the upload names no folder (folder=, empty for the top folder)');
  if (name.includes('/') || name === '.' || name === '..' || CONTROL_CHARACTERS.test(name)) {
    throw new GalleryRequestError(
      400,
      'BAD_FILE_NAME',
      `${JSON.stringify(name)} is not a file name (no "/", no control characters)`,
    );
  }
  if (!isRelativeFolder(folder) || CONTROL_CHARACTERS.test(folder)) {
    throw new GalleryRequestError(
      403,
      'FOLDER_REFUSED',
      `uploads go only to folders below the gallery's folder; ${JSON.stringify(folder)} is not one (a relative folder ending in "/", without "." or ".." parts)`,
    );
  }
  if (!hasImageExtension(name)) {
    throw new GalleryRequestError(
      415,
      'NOT_AN_IMAGE_NAME',
      `${JSON.stringify(name)} does not end like an image the pipeline reads (${describeImageExtensions()}): the pipeline would skip it`,
    );
  }
  const key = request.root + folder + name;
  if (!key.startsWith(request.uploadsPrefix))
    throw new GalleryRequestError(403, 'OUTSIDE_UPLOADS', `uploads go only below ${request.uploadsPrefix}`);
  if (Buffer.byteLength(key, 'utf8') > S3_MAX_KEY_BYTES)
    throw new GalleryRequestError(400, 'KEY_TOO_LONG', `the key would have more than ${S3_MAX_KEY_BYTES} bytes`);
  return key;
}

/**
 * Checks an upload's body before it is stored: an image media type, at most `maxBytes`, and content
 * that is an image of a format the pipeline reads within its pixel limit (the header is read, not the
 * pixels). A file whose name says JPEG and whose bytes say otherwise is refused here, not in the queue.
 */
export async function checkUploadBody(
  body: Uint8Array,
  mediaType: string | undefined,
  limits: { maxBytes: number; maxPixels: number },
): Promise<string> {
  const type = (mediaType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!IMAGE_MEDIA_TYPES.includes(type))
    throw new GalleryRequestError(
      415,
      'NOT_AN_IMAGE_TYPE',
      `uploads must be images (${IMAGE_MEDIA_TYPES.join(', ')}), not ${JSON.stringify(type || 'no type')}`,
    );
  try {
    checkFileSize(body.length, limits.maxBytes);
  } catch (error) {
    throw new GalleryRequestError(413, 'FILE_TOO_LARGE', describeError(error).message);
  }
  try {
    await readImageHeader(body, limits.maxPixels);
  } catch (error) {
    const problem = describeError(error);
    throw new GalleryRequestError(problem.code === 'IMAGE_TOO_LARGE' ? 413 : 415, problem.code, problem.message);
  }
  return type;
}
