import { PipelineError } from '../../common/errors.js';

/** Why a checkpoint cannot be used. Retrying cannot fix any of them. */
export const CHECKPOINT_ERROR_CODE = {
  /** Not a PyTorch checkpoint in either of torch.save's formats, or cut short. */
  CHECKPOINT_UNREADABLE: 'CHECKPOINT_UNREADABLE',
  /** The pickle asks for something a state_dict never needs (code, another class): refused, nothing run. */
  CHECKPOINT_UNSAFE: 'CHECKPOINT_UNSAFE',
  /** A tensor of a dtype this reader does not take. */
  CHECKPOINT_UNSUPPORTED_DTYPE: 'CHECKPOINT_UNSUPPORTED_DTYPE',
  /** Readable, but not torchvision's AlexNet (keys or shapes). */
  CHECKPOINT_NOT_ALEXNET: 'CHECKPOINT_NOT_ALEXNET',
} as const;
export type CheckpointErrorCode = (typeof CHECKPOINT_ERROR_CODE)[keyof typeof CHECKPOINT_ERROR_CODE];

/** A PyTorch checkpoint that cannot be read safely or is not the expected model. */
export class CheckpointError extends PipelineError {
  declare readonly code: CheckpointErrorCode;
  constructor(
    code: CheckpointErrorCode,
    message: string,
    options: { cause?: unknown; context?: Record<string, unknown> } = {},
  ) {
    super(code, message, { ...options, retryable: false });
  }
}
