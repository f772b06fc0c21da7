// The model's public surface for the pipelines. The dev-model builder is deliberately not here:
// `resolveModelPath` loads it only when it has to build the dev model, so the worker's import
// graph does not carry it (tests and tools import `build-alexnet-onnx.js` directly).
export * from './alexnet-architecture.js';
export * from './class-labels.js';
export * from './classify-images.js';
export * from './constants.js';
export * from './devices.js';
export * from './errors.js';
export * from './image-classifier.js';
export * from './image-formats.js';
export * from './image-limits.js';
export * from './image-size.js';
export * from './inference-session.js';
export * from './model-file.js';
export * from './normalize.js';
export * from './postprocess.js';
export * from './preprocess.js';
export * from './read-image-file.js';
export * from './resolve-model.js';
export * from './result.js';
