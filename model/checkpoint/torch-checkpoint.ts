import { open, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { CheckpointError } from './checkpoint-errors.js';
import { PickleDict, unpickle } from './restricted-unpickler.js';
import { PickledTensor, stateDictPolicy } from './state-dict-policy.js';
import { checkTensorBounds, TORCH_DTYPES, type StorageReference, type TensorRecord } from './torch-tensors.js';

/** The two layouts `torch.save` writes. */
export type CheckpointFormat = 'zip' | 'legacy';

/** An opened checkpoint: its tensors (in the state_dict's order) and a way to read each storage. */
export interface TorchCheckpoint {
  readonly format: CheckpointFormat;
  /** Name → tensor, in the order the state_dict holds them. */
  readonly tensors: ReadonlyMap<string, TensorRecord>;
  /** A storage's bytes, read when asked (one at a time keeps memory low). */
  readStorage(storage: StorageReference): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** Largest pickle accepted (a state_dict's pickle is a few kilobytes; its tensors are elsewhere). */
export const MAX_PICKLE_BYTES = 8 * 2 ** 20;
/** The legacy format's magic number (torch.serialization.MAGIC_NUMBER). */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/**
 * Opens a PyTorch checkpoint written by `torch.save` in either format — the zip format (PyTorch ≥
 * 1.6: `<name>/data.pkl` plus `<name>/data/<key>` storages, read with yauzl) or the legacy format
 * (consecutive pickles, then the raw storages) — through the restricted unpickler: nothing in
 * the file is ever run. Accepts a state_dict, or a dict holding one under `state_dict`.
 */
export async function openTorchCheckpoint(file: string): Promise<TorchCheckpoint> {
  if (endianness() !== 'LE')
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      'checkpoints are little-endian; this reader runs on little-endian machines only',
    );
  const handle = await open(file, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      error.code === 'ENOENT' ? `${file} does not exist` : `${file} cannot be read: ${error.message}`,
      { cause: error },
    );
  });
  try {
    const head = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    if (head.readUInt32LE(0) === 0x04034b50) {
      await handle.close();
      return await openZipCheckpoint(file);
    }
    return await openLegacyCheckpoint(handle);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/** The state_dict's tensors, in order; a wrapping `{ state_dict: … }` is unwrapped. */
function stateDictTensors(value: unknown): Map<string, TensorRecord> {
  let dict = value;
  if (dict instanceof PickleDict && dict.get('state_dict') instanceof PickleDict) dict = dict.get('state_dict');
  if (!(dict instanceof PickleDict))
    throw new CheckpointError('CHECKPOINT_UNREADABLE', 'the checkpoint does not hold a state_dict (a dict of tensors)');
  const tensors = new Map<string, TensorRecord>();
  for (const [key, tensor] of dict) {
    if (typeof key === 'string' && tensor instanceof PickledTensor) tensors.set(key, tensor.record);
  }
  if (tensors.size === 0) throw new CheckpointError('CHECKPOINT_UNREADABLE', 'the checkpoint holds no tensors');
  checkStorageSizes(tensors);
  return tensors;
}

/**
 * How much larger than what its tensors reach a storage may be. A state_dict's storages are exactly
 * their tensors (a view of a larger tensor saves that tensor's storage, hence some room); a storage
 * far larger is a few bytes of pickle asking for gigabytes, refused before anything is read.
 */
const MAX_STORAGE_SLACK = { factor: 2, elements: 1024 } as const;

function checkStorageSizes(tensors: ReadonlyMap<string, TensorRecord>): void {
  const reach = new Map<string, { storage: StorageReference; elements: number; names: string[] }>();
  for (const [name, record] of tensors) {
    checkTensorBounds(name, record);
    const entry = reach.get(record.storage.key) ?? { storage: record.storage, elements: 0, names: [] };
    entry.elements = Math.max(entry.elements, record.storageOffset + lastIndexReached(record) + 1);
    entry.names.push(name);
    reach.set(record.storage.key, entry);
  }
  for (const { storage, elements, names } of reach.values()) {
    if (storage.numel > MAX_STORAGE_SLACK.factor * elements + MAX_STORAGE_SLACK.elements) {
      throw new CheckpointError(
        'CHECKPOINT_UNREADABLE',
        `the storage of ${names.slice(0, 3).join(', ')} declares ${storage.numel} elements where its tensors reach ${elements}: refused, a state_dict's storages hold their tensors`,
      );
    }
  }
}

/** The offset of a tensor's last element from its first, in storage elements (0 for an empty tensor). */
function lastIndexReached(record: TensorRecord): number {
  if (record.shape.some((size) => size === 0)) return 0;
  return record.shape.reduce((sum, size, axis) => sum + (size - 1) * record.stride[axis]!, 0);
}

/** The zip's directory: every entry by name, read before any entry's bytes. */
async function readZipDirectory(file: string): Promise<{ zip: yauzl.ZipFile; entries: Map<string, yauzl.Entry> }> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, {
      lazyEntries: true,
      autoClose: false,
      validateEntrySizes: true,
      strictFileNames: false,
    });
  } catch (error) {
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      `the checkpoint's zip container cannot be read (truncated or corrupt): ${(error as Error).message}`,
      { cause: error },
    );
  }
  const entries = new Map<string, yauzl.Entry>();
  try {
    for await (const entry of (zip as unknown as { eachEntry(): AsyncIterable<yauzl.Entry> }).eachEntry())
      entries.set(entry.fileName, entry);
  } catch (error) {
    zip.close();
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      `the checkpoint's zip directory cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { zip, entries };
}

async function openZipCheckpoint(file: string): Promise<TorchCheckpoint> {
  const { zip, entries } = await readZipDirectory(file);
  const pickleName = [...entries.keys()].find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) {
    zip.close();
    throw new CheckpointError('CHECKPOINT_UNREADABLE', 'the zip has no <name>/data.pkl: not a PyTorch checkpoint');
  }
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const readEntry = async (name: string, limit: number) => {
    const entry = entries.get(name);
    if (!entry) throw new CheckpointError('CHECKPOINT_UNREADABLE', `the checkpoint has no ${name}: it is incomplete`);
    if (entry.uncompressedSize > limit)
      throw new CheckpointError(
        'CHECKPOINT_UNREADABLE',
        `${name} has ${entry.uncompressedSize} bytes, more than expected`,
      );
    try {
      return await readAll(await zip.openReadStreamPromise(entry), entry.uncompressedSize);
    } catch (error) {
      throw new CheckpointError(
        'CHECKPOINT_UNREADABLE',
        `${name} cannot be read (truncated or corrupt): ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
  try {
    const byteOrder = entries.has(`${prefix}byteorder`)
      ? (await readEntry(`${prefix}byteorder`, 16)).toString('latin1').trim()
      : 'little';
    if (byteOrder !== 'little')
      throw new CheckpointError(
        'CHECKPOINT_UNREADABLE',
        `the checkpoint was saved ${byteOrder}-endian; only little-endian checkpoints are read`,
      );
    const { value } = unpickle(await readEntry(pickleName, MAX_PICKLE_BYTES), 0, stateDictPolicy);
    return {
      format: 'zip',
      tensors: stateDictTensors(value),
      // A storage entry must hold exactly what its storage declares: a bigger one (a zip bomb, an
      // entry that claims gigabytes) is refused from the directory, before a byte of it is read.
      readStorage: (storage) => {
        const name = `${prefix}data/${storage.key}`;
        const declared = storage.numel * TORCH_DTYPES[storage.dtype];
        const size = entries.get(name)?.uncompressedSize;
        if (size !== undefined && size !== declared)
          throw new CheckpointError(
            'CHECKPOINT_UNREADABLE',
            `${name} has ${size} bytes, but its storage declares ${storage.numel} ${storage.dtype} elements (${declared} bytes): the checkpoint is corrupt`,
          );
        return readEntry(name, declared);
      },
      close: async () => zip.close(),
    };
  } catch (error) {
    zip.close();
    throw error;
  }
}

async function openLegacyCheckpoint(handle: FileHandle): Promise<TorchCheckpoint> {
  const { size } = await handle.stat();
  const head = Buffer.alloc(Math.min(size, MAX_PICKLE_BYTES));
  await handle.read(head, 0, head.length, 0);
  const magic = unpickle(head, 0, stateDictPolicy);
  const magicNumber =
    typeof magic.value === 'bigint'
      ? magic.value
      : Number.isSafeInteger(magic.value)
        ? BigInt(magic.value as number)
        : undefined;
  if (magicNumber !== LEGACY_MAGIC) {
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      `the file is neither a zip nor a legacy PyTorch checkpoint (its first pickle is ${describePickled(magic.value)}, not the magic number)`,
    );
  }
  const protocol = unpickle(head, magic.end, stateDictPolicy);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION)
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      `the legacy checkpoint's protocol is ${describePickled(protocol.value)}; only the number ${LEGACY_PROTOCOL_VERSION} is read`,
    );
  const systemInfo = unpickle(head, protocol.end, stateDictPolicy);
  if (systemInfo.value instanceof PickleDict && systemInfo.value.get('little_endian') === false)
    throw new CheckpointError(
      'CHECKPOINT_UNREADABLE',
      'the checkpoint was saved big-endian; only little-endian checkpoints are read',
    );
  const object = unpickle(head, systemInfo.end, stateDictPolicy);
  const tensors = stateDictTensors(object.value);
  const keys = unpickle(head, object.end, stateDictPolicy);
  if (!Array.isArray(keys.value) || !keys.value.every((key) => typeof key === 'string'))
    throw new CheckpointError('CHECKPOINT_UNREADABLE', 'the legacy checkpoint has no list of storage keys');

  // Each storage: its element count (8 bytes, little-endian), then its bytes.
  const elementSizes = new Map<string, number>();
  const declaredElements = new Map<string, number>();
  for (const { storage } of tensors.values()) {
    elementSizes.set(storage.key, TORCH_DTYPES[storage.dtype]);
    declaredElements.set(
      storage.key,
      Math.max(declaredElements.get(storage.key) ?? 0, storage.elementOffset + storage.numel),
    );
  }
  const regions = new Map<string, { start: number; length: number }>();
  let offset = keys.end;
  for (const key of keys.value as string[]) {
    const count = Buffer.alloc(8);
    if (offset + 8 > size || (await handle.read(count, 0, 8, offset)).bytesRead !== 8) throw truncatedLegacy(key);
    const elements = count.readBigUInt64LE(0);
    const length = Number(elements) * (elementSizes.get(key) ?? 1);
    if (elements > BigInt(Number.MAX_SAFE_INTEGER) || offset + 8 + length > size) throw truncatedLegacy(key);
    const declared = declaredElements.get(key);
    if (declared !== undefined && BigInt(declared) > elements) {
      throw new CheckpointError(
        'CHECKPOINT_UNREADABLE',
        `storage ${key} holds ${elements} elements, but a tensor's storage declares ${declared}: the checkpoint is corrupt`,
      );
    }
    regions.set(key, { start: offset + 8, length });
    offset += 8 + length;
  }
  return {
    format: 'legacy',
    tensors,
    async readStorage(storage) {
      const region = regions.get(storage.key);
      if (!region)
        throw new CheckpointError('CHECKPOINT_UNREADABLE', `storage ${storage.key} is missing from the checkpoint`);
      const bytes = Buffer.alloc(region.length);
      const { bytesRead } = await handle.read(bytes, 0, region.length, region.start);
      if (bytesRead !== region.length) throw truncatedLegacy(storage.key);
      return bytes;
    },
    close: () => handle.close(),
  };
}

/** A pickled value for a message: its type, and a short rendering. */
function describePickled(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${String(value)}`;
  if (value instanceof PickleDict) return 'a dict';
  if (Array.isArray(value)) return 'a list or tuple';
  return `a ${typeof value}`;
}

function truncatedLegacy(key: string): CheckpointError {
  return new CheckpointError(
    'CHECKPOINT_UNREADABLE',
    `the checkpoint is truncated: storage ${key} goes past the end of the file`,
  );
}

async function readAll(stream: Readable, expected: number): Promise<Buffer> {
  // One allocation of the known size: a large storage is not copied again by Buffer.concat.
  const out = Buffer.allocUnsafeSlow(expected);
  let filled = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (filled + chunk.length > expected)
      throw new CheckpointError('CHECKPOINT_UNREADABLE', 'the entry is longer than its directory says');
    chunk.copy(out, filled);
    filled += chunk.length;
  }
  if (filled !== expected)
    throw new CheckpointError('CHECKPOINT_UNREADABLE', `the entry has ${filled} of its ${expected} bytes`);
  return out;
}
