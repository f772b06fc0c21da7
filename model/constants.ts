/** Facts of the AlexNet model and of torchvision's ImageNet evaluation transform. */
export const MODEL_INPUT = {
  /** Side of the square crop the network sees. */
  cropSize: 224,
  /** The shorter side is resized to this before the centre crop. */
  resizeShorterSide: 256,
  channels: 3,
  /** Per-channel ImageNet statistics, RGB order, applied to values in [0, 1]. */
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
} as const;

/** Floats in one preprocessed image: 3 × 224 × 224. */
export const IMAGE_TENSOR_LENGTH = MODEL_INPUT.channels * MODEL_INPUT.cropSize * MODEL_INPUT.cropSize;

/** ImageNet-1k classes in torchvision's index order. */
export const CLASS_COUNT = 1000;

/** Seed of the dev model's He-initialised weights when none is given. */
export const DEFAULT_DEV_MODEL_SEED = 20240611;

/**
 * ONNX `metadata_props` key that says where a model's weights came from. The export script writes
 * `torchvision:IMAGENET1K_V1` (pretrained) or `torchvision:none`; the dev builder writes
 * `untrained:he-normal:seed=<n>`. A model without it is treated as not pretrained.
 */
export const WEIGHTS_METADATA_KEY = 'alexnet_pipeline.weights';

/**
 * ONNX `metadata_props` key that says, when present, whether the weights are pretrained
 * (`true`/`false`); `model convert` writes it. Without it the weights label decides (below).
 */
export const PRETRAINED_METADATA_KEY = 'alexnet_pipeline.pretrained';

/**
 * ONNX `metadata_props` key of a model's numeric precision: `int8` for a model `model quantize`
 * made; absent means fp32. Every result carries it (`model.precision`).
 */
export const PRECISION_METADATA_KEY = 'alexnet_pipeline.precision';

/** ONNX `metadata_props` key of a quantized model's provenance: JSON, see `QuantizationProvenance`. */
export const QUANTIZATION_METADATA_KEY = 'alexnet_pipeline.quantization';

/** The numeric precisions a model can run in. */
export const PRECISIONS = ['fp32', 'int8'] as const;
export type Precision = (typeof PRECISIONS)[number];

/** The weights value prefix that marks real, pretrained ImageNet weights. */
export const PRETRAINED_WEIGHTS_PREFIX = 'torchvision:IMAGENET1K';

/**
 * Version of what preprocessing makes of an image. Bump it whenever a change to decoding,
 * resizing, cropping or normalisation changes the network's input: stored results then no longer
 * match the worker's fingerprint and are computed again on replay.
 */
export const PREPROCESSING_VERSION = 'torchvision-imagenet-eval/1';
