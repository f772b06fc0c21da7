import { decodeImage, packBatch, type PreprocessOptions } from '../../model/index.js';

/**
 * What the network receives for one image, through the path production runs: `decodeImage` on the
 * caller's side, then `packBatch` as the inference thread normalises it. Tests compare it with
 * torchvision's tensors.
 */
export async function networkInput(bytes: Uint8Array, options: PreprocessOptions = {}) {
  const decoded = await decodeImage(bytes, options);
  return { tensor: packBatch([decoded.rgb]).input, size: decoded.size, format: decoded.format, rgb: decoded.rgb };
}
