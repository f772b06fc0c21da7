import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { PRETRAINED_METADATA_KEY, readModelFile, readModelMetadata, WEIGHTS_METADATA_KEY } from '../../model/index.js';
import { OnnxModelProto } from '../../model/onnx-schema.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

/** A model whose graph (a blob of `graphBytes`) comes before its metadata, as exporters write it. */
function modelWithMetadata(graphBytes: number, metadata: Record<string, string>): Uint8Array {
  return OnnxModelProto.encode(
    OnnxModelProto.fromObject({
      irVersion: 8,
      producerName: 'x'.repeat(graphBytes),
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    }),
  ).finish();
}

/** A bare graph field (ModelProto field 7) that claims `claimed` bytes and holds `held`. */
function graphFieldClaiming(claimed: number, held: number): Uint8Array {
  const writer = protobuf.Writer.create();
  writer.uint32((7 << 3) | 2).uint32(claimed);
  return Buffer.concat([writer.finish(), Buffer.alloc(held)]);
}

describe('readModelFile', () => {
  const folder = temporaryFolder('model-file-');

  it('gives the SHA-256 of the whole file and the metadata after a large graph, as a read of all the bytes does', async () => {
    const bytes = modelWithMetadata(3 << 20, {
      [WEIGHTS_METADATA_KEY]: 'pytorch:test',
      [PRETRAINED_METADATA_KEY]: 'true',
    });
    const file = path.join(folder, 'model.onnx');
    await writeFile(file, bytes);
    const { identity } = await readModelFile(file);
    assert.equal(identity.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(identity.weights, 'pytorch:test');
    assert.equal(identity.pretrained, true);
    assert.deepEqual(await readModelMetadata(bytes), {
      [WEIGHTS_METADATA_KEY]: 'pytorch:test',
      [PRETRAINED_METADATA_KEY]: 'true',
    });
  });

  it('refuses a field that claims more bytes than the file holds, and a metadata entry larger than a label', async () => {
    const cases = {
      'past-the-end.onnx': graphFieldClaiming(2 ** 31, 16),
      'huge-entry.onnx': modelWithMetadata(0, { [WEIGHTS_METADATA_KEY]: 'x'.repeat(2 << 20) }),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      const file = path.join(folder, name);
      await writeFile(file, bytes);
      await assert.rejects(readModelFile(file), { code: 'MODEL_INVALID' }, name);
    }
    await assert.rejects(readModelMetadata(cases['past-the-end.onnx']), { code: 'MODEL_INVALID' });
  });

  it('refuses, at once, a file of zeros and a file of endless tiny fields (each would take one read per field)', async () => {
    // 400 MB of zeros (sparse: no disk used) is field number 0, which protobuf does not have.
    const zeros = path.join(folder, 'zeros.onnx');
    await writeFile(zeros, '');
    truncateSync(zeros, 400 * 1024 * 1024);
    await assert.rejects(readModelFile(zeros), { code: 'MODEL_INVALID', message: /is not an ONNX model/ });
    await assert.rejects(readModelMetadata(new Uint8Array(1_000)), { code: 'MODEL_INVALID' }, 'a kilobyte of zeros');
    // 150,000 valid two-byte fields (ir_version = 0, again and again): more than any model has.
    const tiny = path.join(folder, 'tiny-fields.onnx');
    await writeFile(tiny, Buffer.from('0800'.repeat(150_000), 'hex'));
    await assert.rejects(readModelFile(tiny), { code: 'MODEL_INVALID' });
    await assert.doesNotReject(readModelMetadata(Buffer.from('0800'.repeat(1_000), 'hex')));
  });
});
