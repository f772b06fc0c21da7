import { CheckpointError } from './checkpoint-errors.js';
import { PickleDict, type UnpicklerPolicy } from './restricted-unpickler.js';
import { STORAGE_TYPES, type StorageReference, type TensorRecord, type TorchDtype } from './torch-tensors.js';

/** The only callables a state_dict pickle may name, as tokens: none of them is ever a real function. */
const ORDERED_DICT = Symbol('collections.OrderedDict');
const REBUILD_TENSOR = Symbol('torch._utils._rebuild_tensor');
const REBUILD_TENSOR_V2 = Symbol('torch._utils._rebuild_tensor_v2');
const REBUILD_PARAMETER = Symbol('torch._utils._rebuild_parameter');
const TORCH_SIZE = Symbol('torch.Size');

const ALLOWED_GLOBALS: Readonly<Record<string, symbol>> = {
  'collections.OrderedDict': ORDERED_DICT,
  'torch._utils._rebuild_tensor': REBUILD_TENSOR,
  'torch._utils._rebuild_tensor_v2': REBUILD_TENSOR_V2,
  'torch._utils._rebuild_parameter': REBUILD_PARAMETER,
  'torch.Size': TORCH_SIZE,
};

/** A storage class named by the pickle (`torch.FloatStorage`, …). */
interface StorageType {
  readonly storageType: TorchDtype;
}

/** A tensor the pickle built: a record of where its values are. */
export class PickledTensor {
  constructor(readonly record: TensorRecord) {}
}

/**
 * The unpickling policy for a `state_dict`: OrderedDict, the tensor rebuild functions, torch.Size
 * and the storage types, and nothing else. Every other global — `os.system`, `builtins.eval`, a
 * model class — is refused by name before anything happens; tensors become {@link PickledTensor}
 * records, their storages {@link StorageReference}s to be read later.
 */
export const stateDictPolicy: UnpicklerPolicy = {
  resolveGlobal(module, name) {
    const qualified = `${module}.${name}`;
    const token = ALLOWED_GLOBALS[qualified];
    if (token) return token;
    if (module === 'torch' && STORAGE_TYPES[name]) return { storageType: STORAGE_TYPES[name] } satisfies StorageType;
    if (module === 'torch' && name.endsWith('Storage'))
      throw new CheckpointError(
        'CHECKPOINT_UNSUPPORTED_DTYPE',
        `the checkpoint holds a torch.${name}, a storage type this reader does not take`,
      );
    const hint = /^(torchvision|torch\.nn)/.test(module)
      ? ': this is a whole pickled model, not a state_dict (save model.state_dict() instead)'
      : '';
    throw new CheckpointError(
      'CHECKPOINT_UNSAFE',
      `the checkpoint asks for ${qualified}, which a state_dict never needs${hint}; refused, nothing was run`,
      { context: { global: qualified } },
    );
  },

  reduce(callable, args) {
    if (callable === ORDERED_DICT) return orderedDict(args);
    if (callable === REBUILD_TENSOR_V2 || callable === REBUILD_TENSOR) return rebuildTensor(args);
    if (callable === REBUILD_PARAMETER) {
      if (!(args[0] instanceof PickledTensor)) throw malformed('_rebuild_parameter without a tensor');
      return args[0];
    }
    if (callable === TORCH_SIZE) return sizeTuple(args[0]);
    throw new CheckpointError(
      'CHECKPOINT_UNSAFE',
      'the checkpoint asks to call something that is not a state_dict constructor; refused, nothing was run',
    );
  },

  build(target, state) {
    // OrderedDict carries its attributes (torch's `_metadata`) as BUILD state: kept out, harmless.
    if (target instanceof PickleDict && (state === null || state instanceof PickleDict || Array.isArray(state)))
      return target;
    throw new CheckpointError(
      'CHECKPOINT_UNSAFE',
      'the checkpoint asks to set the state of an object a state_dict does not hold; refused, nothing was run',
    );
  },

  persistentLoad(pid) {
    // ('storage', storage_type, key, location, numel[, view_metadata]) — the last only in old legacy files.
    if (!Array.isArray(pid) || pid[0] !== 'storage') throw malformed('a persistent id that is not a storage');
    const [, type, key, , numel, view] = pid as [string, StorageType, unknown, unknown, unknown, unknown];
    if (!type || typeof type !== 'object' || !('storageType' in type))
      throw malformed('a storage without a storage type');
    if ((typeof key !== 'string' && typeof key !== 'number') || !Number.isSafeInteger(numel) || (numel as number) < 0)
      throw malformed('a storage without a key or a size');
    if (view !== undefined && view !== null) {
      const [viewKey, offset, viewSize] = view as [unknown, unknown, unknown];
      const count = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;
      if (
        typeof viewKey !== 'string' ||
        !count(offset) ||
        !count(viewSize) ||
        (offset as number) + (viewSize as number) > (numel as number)
      ) {
        throw malformed(
          `a storage view that is not inside its storage (offset ${String(offset)}, size ${String(viewSize)}, storage of ${String(numel)})`,
        );
      }
      return {
        key: String(key),
        dtype: type.storageType,
        numel: viewSize as number,
        elementOffset: offset as number,
      } satisfies StorageReference;
    }
    return {
      key: String(key),
      dtype: type.storageType,
      numel: numel as number,
      elementOffset: 0,
    } satisfies StorageReference;
  },
};

function orderedDict(args: readonly unknown[]): PickleDict {
  const dict = new PickleDict();
  // Python 2 pickles an OrderedDict as OrderedDict([[key, value], …]).
  if (args.length === 1 && Array.isArray(args[0])) {
    for (const pair of args[0]) {
      if (!Array.isArray(pair) || pair.length !== 2) throw malformed('an OrderedDict item that is not a pair');
      dict.set(pair[0], pair[1]);
    }
  } else if (args.length !== 0) throw malformed('OrderedDict with unexpected arguments');
  return dict;
}

function rebuildTensor(args: readonly unknown[]): PickledTensor {
  const [storage, storageOffset, size, stride] = args;
  if (!storage || typeof storage !== 'object' || !('key' in storage)) throw malformed('a tensor without a storage');
  const shape = sizeTuple(size);
  const strides = sizeTuple(stride);
  if (!Number.isSafeInteger(storageOffset)) throw malformed('a tensor without a storage offset');
  return new PickledTensor({
    storage: storage as StorageReference,
    storageOffset: storageOffset as number,
    shape,
    stride: strides,
  });
}

function sizeTuple(value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((n) => Number.isSafeInteger(n)))
    throw malformed('a tensor size or stride that is not a tuple of integers');
  return value as number[];
}

function malformed(what: string): CheckpointError {
  return new CheckpointError('CHECKPOINT_UNREADABLE', `not a readable PyTorch checkpoint: ${what}`);
}
