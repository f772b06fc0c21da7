import { heNormalParameters } from '../../model/build-alexnet-onnx.js';
import { alexNetParameterShapes } from '../../model/checkpoint/convert-alexnet-checkpoint.js';
import { DEFAULT_DEV_MODEL_SEED } from '../../model/index.js';
import { legacyCheckpoint, type TensorToWrite } from './legacy-checkpoint-writer.js';

/**
 * A legacy-format checkpoint of torchvision's AlexNet holding the dev model's weights (the same
 * values the dev builder draws for the seed): 244 MB, like the real one. `change` alters the tensor
 * list (a wrong shape, a missing key).
 */
export function alexNetCheckpoint(
  change: (tensors: TensorToWrite[]) => TensorToWrite[] = (tensors) => tensors,
  seed = DEFAULT_DEV_MODEL_SEED,
): Buffer {
  const source = heNormalParameters(seed);
  const tensors = [...alexNetParameterShapes()].map(([name, shape]) => ({ name, shape, values: source(name, shape) }));
  return legacyCheckpoint(change(tensors));
}
