import { readModelFile, resolveModelPath, type ModelFile } from '../../model/index.js';

let devModel: Promise<ModelFile> | undefined;

/** The default dev model (built once into the cache and shared by the tests of one process). */
export function loadDevModelFile(): Promise<ModelFile> {
  devModel ??= resolveModelPath().then((resolved) => readModelFile(resolved.path));
  return devModel;
}
