import { PipelineError } from '../common/errors.js';

/** Codes of images that cannot be classified. Retrying cannot fix any of them. */
export const IMAGE_ERROR_CODE = {
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  READ_FAILED: 'READ_FAILED',
  EMPTY_FILE: 'EMPTY_FILE',
  FILE_TOO_LARGE: 'FILE_TOO_LARGE',
  IMAGE_TOO_LARGE: 'IMAGE_TOO_LARGE',
  UNSUPPORTED_FORMAT: 'UNSUPPORTED_FORMAT',
  NOT_AN_IMAGE: 'NOT_AN_IMAGE',
  CORRUPT_IMAGE: 'CORRUPT_IMAGE',
} as const;
export type ImageErrorCode = (typeof IMAGE_ERROR_CODE)[keyof typeof IMAGE_ERROR_CODE];

/** An image that cannot be decoded or is outside the configured limits. */
export class ImageError extends PipelineError {
  declare readonly code: ImageErrorCode;
  constructor(
    code: ImageErrorCode,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, retryable: false });
  }
}

export const MODEL_ERROR_CODE = {
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  MODEL_INVALID: 'MODEL_INVALID',
  /** `model quantize`: a model that is not torchvision's AlexNet graph. */
  MODEL_NOT_ALEXNET: 'MODEL_NOT_ALEXNET',
  /** `model quantize` or `--precision int8` given a model that is quantized already. */
  MODEL_ALREADY_QUANTIZED: 'MODEL_ALREADY_QUANTIZED',
  /** No calibration image could be read. */
  CALIBRATION_EMPTY: 'CALIBRATION_EMPTY',
  DEVICE_UNAVAILABLE: 'DEVICE_UNAVAILABLE',
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  /** The inference thread ended (crashed or was killed): the session cannot run anything again. */
  INFERENCE_THREAD_EXITED: 'INFERENCE_THREAD_EXITED',
  /** A batch ran past its deadline: the inference thread is stuck. */
  INFERENCE_TIMEOUT: 'INFERENCE_TIMEOUT',
} as const;
export type ModelErrorCode = (typeof MODEL_ERROR_CODE)[keyof typeof MODEL_ERROR_CODE];

/** A model that cannot be found, loaded or run, or a device that cannot be used. */
export class ModelError extends PipelineError {
  declare readonly code: ModelErrorCode;
  constructor(
    code: ModelErrorCode,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, retryable: false });
  }
}
