import { CheckpointError } from './checkpoint-errors.js';

/** Element types of PyTorch storages this reader knows, with their sizes in bytes. */
export const TORCH_DTYPES = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
} as const;
export type TorchDtype = keyof typeof TORCH_DTYPES;

/** `torch.<Name>Storage` → its element type. */
export const STORAGE_TYPES: Readonly<Record<string, TorchDtype>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** A storage a tensor points into: its key in the checkpoint, element type and length. */
export interface StorageReference {
  readonly key: string;
  readonly dtype: TorchDtype;
  /** Elements in the storage (or in the view of a root storage, in the legacy format). */
  readonly numel: number;
  /** Legacy storage views: where the view starts in its root storage, in elements. */
  readonly elementOffset: number;
}

/** A tensor as the checkpoint describes it: a window of a storage. */
export interface TensorRecord {
  readonly storage: StorageReference;
  readonly storageOffset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** A tensor's values, contiguous and row-major, in its own element type. */
export interface TensorValues {
  readonly dtype: TorchDtype;
  readonly shape: readonly number[];
  /** float16 and bfloat16 keep their 16-bit patterns (see {@link toFloat32}). */
  readonly data:
    Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;
}

/** Elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((product, size) => product * size, 1);
}

/**
 * Checks that a tensor stays inside its storage (the checkpoint is untrusted: a stride or offset
 * pointing past the storage must not read other memory or allocate without bound).
 */
export function checkTensorBounds(name: string, record: TensorRecord): void {
  const { shape, stride, storageOffset, storage } = record;
  const valid = (value: number) => Number.isSafeInteger(value) && value >= 0;
  if (shape.length !== stride.length || !shape.every(valid) || !stride.every(valid) || !valid(storageOffset)) {
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      `tensor ${name} has a malformed size, stride or offset (${JSON.stringify({ shape, stride, storageOffset })})`,
    );
  }
  if (elementCount(shape) === 0) return;
  const lastIndex = storageOffset + shape.reduce((sum, size, axis) => sum + (size - 1) * stride[axis]!, 0);
  if (lastIndex >= storage.numel)
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      `tensor ${name} reaches element ${lastIndex} of a storage of ${storage.numel}: the checkpoint is corrupt`,
    );
}

/**
 * The values of a tensor from its storage's bytes (little-endian): a view when the tensor is
 * contiguous, else a copy gathered through its strides. Views with a storage offset, strided and
 * transposed tensors, and storages shared by several tensors all come out right.
 */
export function tensorValues(name: string, record: TensorRecord, storageBytes: Uint8Array): TensorValues {
  checkTensorBounds(name, record);
  const { dtype } = record.storage;
  const size = TORCH_DTYPES[dtype];
  const needed = (record.storage.elementOffset + record.storage.numel) * size;
  if (storageBytes.length < needed)
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      `the storage of ${name} has ${storageBytes.length} bytes, fewer than the ${needed} it claims: the checkpoint is truncated`,
    );
  const all = typedView(dtype, storageBytes, record.storage.elementOffset, record.storage.numel);
  const count = elementCount(record.shape);
  if (isContiguous(record.shape, record.stride))
    return {
      dtype,
      shape: record.shape,
      data: all.subarray(record.storageOffset, record.storageOffset + count) as TensorValues['data'],
    };
  const out = new (all.constructor as new (length: number) => TensorValues['data'])(count);
  const index = new Array<number>(record.shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let source = record.storageOffset;
    for (let axis = 0; axis < index.length; axis++) source += index[axis]! * record.stride[axis]!;
    (out as unknown as Array<number | bigint>)[i] = (all as unknown as Array<number | bigint>)[source]!;
    for (let axis = index.length - 1; axis >= 0; axis--) {
      if (++index[axis]! < record.shape[axis]!) break;
      index[axis] = 0;
    }
  }
  return { dtype, shape: record.shape, data: out };
}

/** A tensor's values as float32 (float16, bfloat16 and float64 widened or narrowed); integer tensors are refused. */
export function toFloat32(name: string, values: TensorValues): Float32Array {
  const { data, dtype } = values;
  if (dtype === 'float32') return data as Float32Array;
  if (dtype === 'float64') return Float32Array.from(data as Float64Array);
  if (dtype === 'float16') return Float32Array.from(data as Uint16Array, halfToFloat);
  if (dtype === 'bfloat16') {
    const widened = new Uint32Array((data as Uint16Array).length);
    (data as Uint16Array).forEach((bits, i) => (widened[i] = bits << 16));
    return new Float32Array(widened.buffer);
  }
  throw new CheckpointError(
    'CHECKPOINT_UNSUPPORTED_DTYPE',
    `tensor ${name} holds ${dtype}, not floating-point weights`,
  );
}

/** IEEE 754 half precision bits to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    if (shape[axis]! !== 1 && stride[axis] !== expected) return false;
    expected *= shape[axis]!;
  }
  return true;
}

/** A typed view of the storage's elements; copies only when the bytes are not aligned for the type. */
function typedView(dtype: TorchDtype, bytes: Uint8Array, elementOffset: number, numel: number): TensorValues['data'] {
  const size = TORCH_DTYPES[dtype];
  let start = bytes.byteOffset + elementOffset * size;
  let buffer = bytes.buffer;
  if (start % size !== 0) {
    const copy = new Uint8Array(numel * size);
    copy.set(bytes.subarray(elementOffset * size, (elementOffset + numel) * size));
    buffer = copy.buffer;
    start = 0;
  }
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, start, numel);
    case 'float64':
      return new Float64Array(buffer, start, numel);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(buffer, start, numel);
    case 'int64':
      return new BigInt64Array(buffer, start, numel);
    case 'int32':
      return new Int32Array(buffer, start, numel);
    case 'int16':
      return new Int16Array(buffer, start, numel);
    case 'int8':
      return new Int8Array(buffer, start, numel);
    case 'uint8':
    case 'bool':
      return new Uint8Array(buffer, start, numel);
  }
}
