import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { buildDevAlexNetOnnx, DEV_MODEL_INPUT_NAME, DEV_MODEL_OUTPUT_NAME } from '../../model/build-alexnet-onnx.js';
import { ALEXNET_LAYERS, countParameters, readModelMetadata, WEIGHTS_METADATA_KEY } from '../../model/index.js';
import { OnnxModelProto } from '../../model/onnx-schema.js';

type Decoded = {
  opsetImport: { version: number }[];
  graph: {
    node: { opType: string; name: string; attribute: { name: string; ints: number[]; i: number }[] }[];
    initializer: { name: string; dims: number[]; rawData: Uint8Array }[];
    input: { name: string; type: { tensorType: { shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
    output: { name: string; type: { tensorType: { shape: { dim: { dimValue?: number; dimParam?: string }[] } } } }[];
  };
};

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytesA = buildDevAlexNetOnnx({ seed: 7 });
const decoded = OnnxModelProto.toObject(OnnxModelProto.decode(bytesA), {
  longs: Number,
  defaults: true,
}) as unknown as Decoded;
const dims = (value: Decoded['graph']['input'][number]) =>
  value.type.tensorType.shape.dim.map((d) => (d.dimParam ? d.dimParam : d.dimValue));

describe('buildAlexNetOnnx', () => {
  it('has torchvision AlexNet’s 61,100,840 parameters, named and shaped like its state_dict', () => {
    const shapes = Object.fromEntries(decoded.graph.initializer.map((t) => [t.name, t.dims]));
    assert.deepEqual(shapes, {
      'features.0.weight': [64, 3, 11, 11],
      'features.0.bias': [64],
      'features.3.weight': [192, 64, 5, 5],
      'features.3.bias': [192],
      'features.6.weight': [384, 192, 3, 3],
      'features.6.bias': [384],
      'features.8.weight': [256, 384, 3, 3],
      'features.8.bias': [256],
      'features.10.weight': [256, 256, 3, 3],
      'features.10.bias': [256],
      'classifier.1.weight': [4096, 9216],
      'classifier.1.bias': [4096],
      'classifier.4.weight': [4096, 4096],
      'classifier.4.bias': [4096],
      'classifier.6.weight': [1000, 4096],
      'classifier.6.bias': [1000],
    });
    const total = decoded.graph.initializer.reduce((sum, t) => sum + t.rawData.length / 4, 0);
    assert.equal(total, 61_100_840);
    assert.equal(countParameters(ALEXNET_LAYERS), 61_100_840);
  });

  it('lays the operators out as features → avgpool → flatten → classifier', () => {
    assert.deepEqual(
      decoded.graph.node.map((n) => n.opType),
      [
        'Conv',
        'Relu',
        'MaxPool',
        'Conv',
        'Relu',
        'MaxPool',
        'Conv',
        'Relu',
        'Conv',
        'Relu',
        'Conv',
        'Relu',
        'MaxPool',
        'AveragePool',
        'Flatten',
        'Dropout',
        'Gemm',
        'Relu',
        'Dropout',
        'Gemm',
        'Relu',
        'Gemm',
      ],
    );
    const firstConv = decoded.graph.node[0]!;
    const attribute = (name: string) => firstConv.attribute.find((a) => a.name === name)?.ints;
    assert.deepEqual(attribute('kernel_shape'), [11, 11]);
    assert.deepEqual(attribute('strides'), [4, 4]);
    assert.deepEqual(attribute('pads'), [2, 2, 2, 2]);
    const pools = decoded.graph.node.filter((n) => n.opType === 'MaxPool');
    for (const pool of pools) assert.deepEqual(pool.attribute.find((a) => a.name === 'kernel_shape')?.ints, [3, 3]);
  });

  it('takes [batch,3,224,224] and gives [batch,1000], with a dynamic batch axis', () => {
    assert.equal(decoded.graph.input.length, 1);
    assert.equal(decoded.graph.output.length, 1);
    assert.equal(decoded.graph.input[0]!.name, DEV_MODEL_INPUT_NAME);
    assert.equal(decoded.graph.output[0]!.name, DEV_MODEL_OUTPUT_NAME);
    assert.deepEqual(dims(decoded.graph.input[0]!), ['batch', 3, 224, 224]);
    assert.deepEqual(dims(decoded.graph.output[0]!), ['batch', 1000]);
    assert.equal(decoded.opsetImport[0]!.version, 17);
  });

  it('He-initialises weights (std √(2/fan_in)) and zeroes biases', () => {
    const tensor = (name: string) => {
      const raw = decoded.graph.initializer.find((t) => t.name === name)!.rawData;
      return new Float32Array(new Uint8Array(raw).buffer);
    };
    const weights = tensor('features.3.weight');
    const mean = weights.reduce((s, v) => s + v, 0) / weights.length;
    const std = Math.sqrt(weights.reduce((s, v) => s + (v - mean) ** 2, 0) / weights.length);
    const expected = Math.sqrt(2 / (64 * 5 * 5));
    assert.ok(Math.abs(std - expected) / expected < 0.01, `std ${std} vs ${expected}`);
    assert.ok(Math.abs(mean) < expected * 0.01, `mean ${mean}`);
    assert.ok(tensor('classifier.6.bias').every((v) => v === 0));
  });

  it('is deterministic: the same seed gives the same bytes, another seed other bytes', () => {
    assert.equal(sha256(buildDevAlexNetOnnx({ seed: 7 })), sha256(bytesA));
    assert.notEqual(sha256(buildDevAlexNetOnnx({ seed: 8 })), sha256(bytesA));
  });

  it('records that its weights are untrained in the model metadata', async () => {
    assert.equal((await readModelMetadata(bytesA))[WEIGHTS_METADATA_KEY], 'untrained:he-normal:seed=7');
  });
});
