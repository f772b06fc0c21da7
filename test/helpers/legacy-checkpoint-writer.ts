/**
 * Writes PyTorch checkpoints in torch.save's legacy format (consecutive protocol-2 pickles, then
 * the raw storages), byte for byte as torch 1.13 writes them, for tests that must not need PyTorch:
 * a checkpoint of AlexNet's size, one with wrong shapes, and hostile ones.
 */
export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  /** float32 values, row-major; or, for other dtypes, the raw little-endian bytes. */
  readonly values: Float32Array | { readonly storageType: string; readonly bytes: Uint8Array; readonly numel: number };
  /** Old legacy files' storage view (key, offset, size in elements) instead of none. */
  readonly view?: { readonly key: string; readonly offset: number; readonly size: number };
}

class PickleWriter {
  private readonly parts: Buffer[] = [];
  op(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  global(module: string, name: string): this {
    this.parts.push(Buffer.from([0x63]), Buffer.from(`${module}\n${name}\n`, 'latin1'));
    return this;
  }
  text(value: string): this {
    const utf8 = Buffer.from(value, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(utf8.length);
    this.parts.push(Buffer.from([0x58]), length, utf8);
    return this;
  }
  int(value: number): this {
    const bytes = Buffer.alloc(4);
    bytes.writeInt32LE(value);
    this.parts.push(Buffer.from([0x4a]), bytes);
    return this;
  }
  tuple(values: readonly number[]): this {
    this.op(0x28);
    for (const value of values) this.int(value);
    return this.op(0x74);
  }
  raw(bytes: Uint8Array): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/**
 * The checkpoint's bytes. `injectGlobal` puts a call of that global into the state_dict, as an
 * attacker would; `magic` and `protocol` replace those first two pickles (whole, with their STOP).
 */
export function legacyCheckpoint(
  tensors: readonly TensorToWrite[],
  options: { injectGlobal?: [string, string]; magic?: Uint8Array; protocol?: Uint8Array } = {},
): Buffer {
  const magic = options.magic
    ? Buffer.from(options.magic)
    : new PickleWriter()
        .op(0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)
        .op(0x2e)
        .bytes();
  const protocol = options.protocol
    ? Buffer.from(options.protocol)
    : new PickleWriter().op(0x80, 2, 0x4d, 0xe9, 0x03, 0x2e).bytes();
  const systemInfo = new PickleWriter()
    .op(0x80, 2, 0x7d, 0x28)
    .text('protocol_version')
    .int(1001)
    .text('little_endian')
    .op(0x88)
    .op(0x75, 0x2e)
    .bytes();
  const object = new PickleWriter().op(0x80, 2).global('collections', 'OrderedDict').op(0x29, 0x52, 0x28);
  if (options.injectGlobal)
    object
      .text('payload')
      .global(...options.injectGlobal)
      .op(0x28)
      .text('touch /tmp/alexnet-pwned')
      .op(0x74, 0x52);
  const storages: Buffer[] = [];
  tensors.forEach((tensor, index) => {
    const key = `storage-${index}`;
    const { storageType, bytes, numel } =
      tensor.values instanceof Float32Array
        ? {
            storageType: 'FloatStorage',
            bytes: new Uint8Array(tensor.values.buffer, tensor.values.byteOffset, tensor.values.byteLength),
            numel: tensor.values.length,
          }
        : tensor.values;
    const stride = tensor.shape.map((_, axis) => tensor.shape.slice(axis + 1).reduce((p, s) => p * s, 1));
    object.text(tensor.name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    object.op(0x28).text('storage').global('torch', storageType).text(key).text('cpu').int(numel);
    if (tensor.view)
      object.op(0x28).text(tensor.view.key).int(tensor.view.offset).int(tensor.view.size).op(0x74, 0x74, 0x51);
    else object.op(0x4e, 0x74, 0x51);
    object
      .int(0)
      .tuple(tensor.shape)
      .tuple(stride)
      .op(0x89)
      .global('collections', 'OrderedDict')
      .op(0x29, 0x52, 0x74, 0x52);
    const count = Buffer.alloc(8);
    count.writeBigUInt64LE(BigInt(numel));
    storages.push(count, Buffer.from(bytes));
  });
  object.op(0x75, 0x2e);
  const keys = new PickleWriter().op(0x80, 2, 0x5d, 0x28);
  tensors.forEach((_, index) => keys.text(`storage-${index}`));
  keys.op(0x65, 0x2e);
  return Buffer.concat([magic, protocol, systemInfo, object.bytes(), keys.bytes(), ...storages]);
}
