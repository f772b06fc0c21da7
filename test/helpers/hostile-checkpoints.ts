import { readFileSync } from 'node:fs';
import path from 'node:path';
import { legacyCheckpoint } from './legacy-checkpoint-writer.js';
import { zipArchive } from './zip-writer.js';

/** Protocol 2, then `body`, then STOP: one pickle. */
function pickle(...body: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x80, 2]), ...body, Buffer.from([0x2e])]);
}

/** A zip checkpoint whose `archive/data.pkl` is `data`, with `storages` beside it. */
function zipCheckpoint(data: Buffer, storages: Record<string, Uint8Array> = {}, deflate = true): Buffer {
  return zipArchive([
    { name: 'archive/data.pkl', bytes: data, deflate },
    ...Object.entries(storages).map(([key, bytes]) => ({ name: `archive/data/${key}`, bytes, deflate: true })),
    { name: 'archive/version', bytes: Buffer.from('3\n') },
  ]);
}

/** A state_dict pickle of one float tensor `w` of shape [count] in a FloatStorage of `numel` elements under key '0'. */
function oneTensorPickle(count: number, numel: number): Buffer {
  const int = (value: number) => {
    const bytes = Buffer.alloc(5);
    bytes[0] = 0x4a;
    bytes.writeInt32LE(value, 1);
    return bytes;
  };
  const text = (value: string) => Buffer.concat([Buffer.from([0x8c, value.length]), Buffer.from(value, 'latin1')]);
  const global = (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`, 'latin1');
  return pickle(
    global('collections', 'OrderedDict'),
    Buffer.from([0x29, 0x52, 0x28]),
    text('w'),
    global('torch._utils', '_rebuild_tensor_v2'),
    Buffer.from([0x28, 0x28]),
    text('storage'),
    global('torch', 'FloatStorage'),
    text('0'),
    text('cpu'),
    int(numel),
    Buffer.from([0x74, 0x51]),
    int(0),
    Buffer.from([0x28]),
    int(count),
    Buffer.from([0x74, 0x28]),
    int(1),
    Buffer.from([0x74, 0x89]),
    global('collections', 'OrderedDict'),
    Buffer.from([0x29, 0x52, 0x74, 0x52, 0x75]),
  );
}

const tiny = [{ name: 'w', shape: [2], values: new Float32Array([1, 2]) }];

/**
 * Checkpoints a hostile or broken writer could make, each small on disk: what each must get is in
 * the test that uses them (test/model/checkpoint/hostile-checkpoints.test.ts), and
 * `npm run bench:checkpoints` measures the peak memory of `model convert` on them.
 */
export function hostileCheckpoints(): Record<string, Buffer> {
  const nones = (count: number) => Buffer.alloc(count, 0x4e);
  return {
    // 64 MiB of MARK opcodes, deflated to about 65 KB.
    'zip-pickle-of-64-mib-marks': zipCheckpoint(Buffer.alloc(64 * 2 ** 20, 0x28)),
    // Under the pickle's size limit: 7 MiB of MARKs pile up on the stack.
    'zip-pickle-of-7-mib-marks': zipCheckpoint(Buffer.alloc(7 * 2 ** 20, 0x28)),
    // A storage entry of 64 MiB of zeros (deflated to about 64 KB) for a storage that declares 2 floats.
    'zip-storage-bigger-than-declared': zipCheckpoint(oneTensorPickle(2, 2), { '0': Buffer.alloc(64 * 2 ** 20) }),
    // A storage that declares 600 M floats (2.4 GB) for a tensor of 2.
    'zip-storage-far-larger-than-its-tensor': zipCheckpoint(oneTensorPickle(2, 600_000_000), { '0': Buffer.alloc(8) }),
    'appends-of-500k-items': pickle(Buffer.from([0x5d, 0x28]), nones(500_000), Buffer.from([0x65])),
    'memoize-1.1m-times': pickle(Buffer.from([0x4e]), Buffer.alloc(1_100_000, 0x94)),
    'binunicode8-of-2-to-the-40': pickle(Buffer.from([0x8d, 0, 0, 0, 0, 0, 1, 0, 0]), Buffer.from('x')),
    'legacy-first-pickle-none': legacyCheckpoint(tiny, { magic: pickle(Buffer.from([0x4e])) }),
    'legacy-first-pickle-text': legacyCheckpoint(tiny, { magic: pickle(Buffer.from([0x8c, 5]), Buffer.from('hello')) }),
    'legacy-first-pickle-float': legacyCheckpoint(tiny, {
      magic: pickle(Buffer.from([0x47, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18])),
    }),
    'legacy-first-pickle-dict': legacyCheckpoint(tiny, { magic: pickle(Buffer.from([0x7d])) }),
    'legacy-protocol-as-text': legacyCheckpoint(tiny, {
      protocol: pickle(Buffer.from([0x8c, 4]), Buffer.from('1001')),
    }),
    'legacy-view-at-offset-minus-1': legacyCheckpoint([{ ...tiny[0]!, view: { key: 'v', offset: -1, size: 2 } }]),
  };
}

/** The bytes of the small checkpoint PyTorch wrote, for comparison. */
export function realSmallCheckpoint(fixturesDirectory: string): Buffer {
  return readFileSync(path.join(fixturesDirectory, 'pth', 'small-zip.pth'));
}
