import { ensureDevModel, readModelFile, type ModelFile } from '../../model/index.js';

let devModel: Promise<ModelFile> | undefined;

/** The default dev model (built once into the cache and shared by the tests of one process), whatever else is cached. */
export function loadDevModelFile(): Promise<ModelFile> {
  devModel ??= ensureDevModel().then((file) => readModelFile(file));
  return devModel;
}
