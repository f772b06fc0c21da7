import { fileURLToPath } from 'node:url';
import path from 'node:path';

/**
 * The project's root folder. Compiled code runs from `dist/<folder>/`, so the root is two levels up
 * from this module; data files that ship with the product (class names, samples) live under it.
 */
export const projectRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Where generated artefacts (the dev model) are cached between runs. Not committed. */
export const cacheDirectory = process.env.ALEXNET_CACHE_DIR ?? path.join(projectRoot, '.cache');
