import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { openTorchCheckpoint } from '../../../model/checkpoint/torch-checkpoint.js';
import { halfToFloat, tensorValues, toFloat32 } from '../../../model/checkpoint/torch-tensors.js';
import { legacyCheckpoint } from '../../helpers/legacy-checkpoint-writer.js';
import { checkpointFixturesDirectory } from '../../helpers/fixtures.js';
import { temporaryFolder } from '../../helpers/temporary-folder.js';

const fixtures = checkpointFixturesDirectory;
const expected = JSON.parse(readFileSync(path.join(fixtures, 'small.json'), 'utf8')) as {
  order: string[];
  tensors: Record<string, { shape: number[]; dtype: string; values: number[] }>;
};

async function readAll(file: string) {
  const checkpoint = await openTorchCheckpoint(file);
  try {
    const tensors: Array<{
      key: string;
      dtype: string;
      shape: readonly number[];
      values: number[];
      storageKey: string;
    }> = [];
    for (const [key, record] of checkpoint.tensors) {
      const values = tensorValues(key, record, await checkpoint.readStorage(record.storage));
      const numbers =
        values.dtype === 'int64'
          ? Array.from(values.data as BigInt64Array, Number)
          : Array.from(values.dtype === 'float16' ? toFloat32(key, values) : (values.data as Float32Array));
      tensors.push({ key, dtype: values.dtype, shape: values.shape, values: numbers, storageKey: record.storage.key });
    }
    return { format: checkpoint.format, tensors };
  } finally {
    await checkpoint.close();
  }
}

describe('openTorchCheckpoint on checkpoints written by real PyTorch', () => {
  for (const [file, format] of [
    ['small-zip.pth', 'zip'],
    ['small-legacy.pth', 'legacy'],
  ] as const) {
    it(`returns exactly the tensors of ${file}, keys in order`, async () => {
      const read = await readAll(path.join(fixtures, file));
      assert.equal(read.format, format);
      assert.deepEqual(
        read.tensors.map((t) => t.key),
        expected.order,
      );
      for (const tensor of read.tensors) {
        const want = expected.tensors[tensor.key]!;
        assert.deepEqual([tensor.dtype, [...tensor.shape]], [want.dtype, want.shape], tensor.key);
        assert.deepEqual(tensor.values, want.values, `${tensor.key} values`);
      }
      // The fixture's views: two tensors of one storage, one of them at an offset and one strided.
      const shared = read.tensors.filter((t) => t.key === 'classifier.1.weight' || t.key === 'classifier.1.bias');
      assert.equal(shared[0]!.storageKey, shared[1]!.storageKey, 'a storage shared by two tensors');
    });
  }

  it('widens float16 exactly', () => {
    assert.deepEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00].map(halfToFloat), [1, -2, 65504, 2 ** -24, Infinity]);
  });
});

describe('openTorchCheckpoint refuses what is not a safe state_dict', () => {
  let folder: string;
  before(async () => {
    folder = temporaryFolder('alexnet-pth-');
  });
  const write = async (name: string, bytes: Uint8Array) => {
    const file = path.join(folder, name);
    await writeFile(file, bytes);
    return file;
  };
  const tiny = [{ name: 'w', shape: [2], values: new Float32Array([1, 2]) }];

  for (const [module, name] of [
    ['os', 'system'],
    ['builtins', 'eval'],
    ['subprocess', 'Popen'],
  ] as const) {
    it(`refuses a pickle that asks for ${module}.${name}, and runs nothing`, async () => {
      const file = await write(`${name}.pth`, legacyCheckpoint(tiny, { injectGlobal: [module, name] }));
      await assert.rejects(openTorchCheckpoint(file), (error: unknown) => {
        assert.equal((error as { code?: string }).code, 'CHECKPOINT_UNSAFE');
        assert.match((error as Error).message, new RegExp(`asks for ${module}\\.${name}.*refused, nothing was run`));
        return true;
      });
      assert.equal(existsSync('/tmp/alexnet-pwned'), false);
    });
  }

  it('says a pickled whole model is not a state_dict', async () => {
    const file = await write(
      'model.pth',
      legacyCheckpoint(tiny, { injectGlobal: ['torchvision.models.alexnet', 'AlexNet'] }),
    );
    await assert.rejects(openTorchCheckpoint(file), /whole pickled model, not a state_dict/);
  });

  it('refuses a protocol-0 pickle of os.system before anything else', async () => {
    const zipLike = Buffer.concat([
      Buffer.from([
        0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e, 0x80, 2, 0x4d, 0xe9, 0x03,
        0x2e, 0x7d, 0x2e,
      ]),
      Buffer.from("cos\nsystem\n(S'touch /tmp/alexnet-pwned'\ntR.", 'latin1'),
    ]);
    await assert.rejects(openTorchCheckpoint(await write('protocol0.pth', zipLike)), { code: 'CHECKPOINT_UNSAFE' });
    assert.equal(existsSync('/tmp/alexnet-pwned'), false);
  });

  it('refuses a truncated zip checkpoint and a truncated legacy one', async () => {
    for (const name of ['small-zip.pth', 'small-legacy.pth']) {
      const bytes = readFileSync(path.join(fixtures, name));
      const cut = await write(`cut-${name}`, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
      await assert.rejects(
        (async () => {
          const checkpoint = await openTorchCheckpoint(cut);
          for (const record of checkpoint.tensors.values()) await checkpoint.readStorage(record.storage);
        })(),
        (error: unknown) =>
          (error as { code?: string }).code === 'CHECKPOINT_UNREADABLE' &&
          /truncated|cannot be read|corrupt/.test((error as Error).message),
        name,
      );
    }
  });

  it('refuses a tensor that reaches past its storage', async () => {
    const bytes = legacyCheckpoint([
      { name: 'w', shape: [4], values: { storageType: 'FloatStorage', bytes: new Uint8Array(8), numel: 2 } },
    ]);
    // Refused as the checkpoint is opened, before any storage is read; and by tensorValues itself.
    await assert.rejects(
      openTorchCheckpoint(await write('past.pth', bytes)),
      /tensor w reaches element 3 of a storage of 2/,
    );
    const record = {
      storage: { key: '0', dtype: 'float32' as const, numel: 2, elementOffset: 0 },
      storageOffset: 0,
      shape: [4],
      stride: [1],
    };
    assert.throws(() => tensorValues('w', record, new Uint8Array(8)), /reaches element 3 of a storage of 2/);
  });

  it('refuses a file that is neither format', async () => {
    await assert.rejects(
      openTorchCheckpoint(await write('text.pth', Buffer.from('just some text, not a checkpoint'))),
      { code: 'CHECKPOINT_UNREADABLE' },
    );
  });
});
