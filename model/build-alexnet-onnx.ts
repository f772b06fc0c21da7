import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ALEXNET_LAYERS, type AlexNetLayer } from './alexnet-architecture.js';
import { CLASS_COUNT, DEFAULT_DEV_MODEL_SEED, MODEL_INPUT, WEIGHTS_METADATA_KEY } from './constants.js';
import { ONNX_ATTRIBUTE_TYPE, ONNX_DATA_TYPE, OnnxModelProto } from './onnx-schema.js';
import { SeededNormalRandom } from './seeded-random.js';

/** ONNX opset and IR version of the generated graph (both supported by every current runtime). */
const OPSET_VERSION = 17;
const IR_VERSION = 8;

export const DEV_MODEL_INPUT_NAME = 'pixel_values';
export const DEV_MODEL_OUTPUT_NAME = 'logits';

/** Options of {@link buildAlexNetOnnx}. */
export interface BuildAlexNetOptions {
  /** Seed of the He-initialised weights. Default: {@link DEFAULT_DEV_MODEL_SEED}. */
  readonly seed?: number;
}

type Attribute = Record<string, unknown>;
type Node = { input: string[]; output: string[]; name: string; opType: string; attribute: Attribute[] };
type Initializer = { name: string; dims: number[]; dataType: number; rawData: Uint8Array };

/** Describes where the weights of a dev model built with `seed` come from. */
export function devWeightsDescription(seed: number): string {
  return `untrained:he-normal:seed=${seed}`;
}

/**
 * Builds torchvision's AlexNet as a serialized ONNX model with seeded, He-initialised weights
 * (normal, std √(2/fan_in)) and zero biases: untrained, but every output depends on the image.
 * The same seed gives the same bytes.
 */
export function buildAlexNetOnnx(options: BuildAlexNetOptions = {}): Uint8Array {
  const seed = options.seed ?? DEFAULT_DEV_MODEL_SEED;
  const random = new SeededNormalRandom(seed);
  const nodes: Node[] = [];
  const initializers: Initializer[] = [];
  let current = DEV_MODEL_INPUT_NAME;

  for (const layer of ALEXNET_LAYERS) {
    const isLast = layer === ALEXNET_LAYERS[ALEXNET_LAYERS.length - 1];
    const output = isLast ? DEV_MODEL_OUTPUT_NAME : `${layer.name}.output`;
    const { node, parameters } = layerToOnnx(layer, current, output, random);
    nodes.push(node);
    initializers.push(...parameters);
    current = output;
  }

  const model = OnnxModelProto.fromObject({
    irVersion: IR_VERSION,
    producerName: 'alexnet-pipeline',
    producerVersion: '1',
    docString: 'torchvision AlexNet architecture with untrained He-initialised weights (for development and tests)',
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    metadataProps: [{ key: WEIGHTS_METADATA_KEY, value: devWeightsDescription(seed) }],
    graph: {
      name: 'alexnet',
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(DEV_MODEL_INPUT_NAME, ['batch', MODEL_INPUT.channels, MODEL_INPUT.cropSize, MODEL_INPUT.cropSize])],
      output: [tensorValueInfo(DEV_MODEL_OUTPUT_NAME, ['batch', CLASS_COUNT])],
    },
  });
  return OnnxModelProto.encode(model).finish();
}

/** Builds the dev model and writes it atomically (write to a temporary name, then rename). */
export async function writeAlexNetOnnx(filePath: string, options: BuildAlexNetOptions = {}): Promise<void> {
  await mkdir(path.dirname(filePath), { recursive: true });
  const temporary = `${filePath}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, buildAlexNetOnnx(options));
  await rename(temporary, filePath);
}

function layerToOnnx(
  layer: AlexNetLayer,
  input: string,
  output: string,
  random: SeededNormalRandom,
): { node: Node; parameters: Initializer[] } {
  const node = (opType: string, inputs: string[], attribute: Attribute[] = []): Node => ({
    input: inputs,
    output: [output],
    name: layer.name,
    opType,
    attribute,
  });
  switch (layer.kind) {
    case 'conv': {
      const fanIn = layer.inChannels * layer.kernel * layer.kernel;
      const weight = heNormal(random, layer.outChannels * fanIn, fanIn);
      const parameters = [
        floatInitializer(`${layer.name}.weight`, [layer.outChannels, layer.inChannels, layer.kernel, layer.kernel], weight),
        floatInitializer(`${layer.name}.bias`, [layer.outChannels], new Float32Array(layer.outChannels)),
      ];
      const attributes = [
        intsAttribute('kernel_shape', [layer.kernel, layer.kernel]),
        intsAttribute('strides', [layer.stride, layer.stride]),
        intsAttribute('pads', [layer.padding, layer.padding, layer.padding, layer.padding]),
      ];
      return { node: node('Conv', [input, ...parameters.map((p) => p.name)], attributes), parameters };
    }
    case 'linear': {
      const weight = heNormal(random, layer.outFeatures * layer.inFeatures, layer.inFeatures);
      const parameters = [
        floatInitializer(`${layer.name}.weight`, [layer.outFeatures, layer.inFeatures], weight),
        floatInitializer(`${layer.name}.bias`, [layer.outFeatures], new Float32Array(layer.outFeatures)),
      ];
      // Gemm with transB = 1 takes the weight in torch's [out, in] layout, as torch.onnx exports it.
      const attributes = [intAttribute('transB', 1)];
      return { node: node('Gemm', [input, ...parameters.map((p) => p.name)], attributes), parameters };
    }
    case 'relu':
      return { node: node('Relu', [input]), parameters: [] };
    case 'maxpool':
      return {
        node: node('MaxPool', [input], [
          intsAttribute('kernel_shape', [layer.kernel, layer.kernel]),
          intsAttribute('strides', [layer.stride, layer.stride]),
        ]),
        parameters: [],
      };
    case 'adaptive-avgpool':
      // With a 224×224 input the features are already 6×6, so the adaptive pool is a 1×1
      // average pool — what torch.onnx exports for AdaptiveAvgPool2d at this size.
      return {
        node: node('AveragePool', [input], [intsAttribute('kernel_shape', [1, 1]), intsAttribute('strides', [1, 1])]),
        parameters: [],
      };
    case 'flatten':
      return { node: node('Flatten', [input], [intAttribute('axis', 1)]), parameters: [] };
    case 'dropout':
      // Inference mode: ONNX Dropout without `training_mode` is the identity; runtimes remove it.
      return { node: node('Dropout', [input]), parameters: [] };
  }
}

function heNormal(random: SeededNormalRandom, length: number, fanIn: number): Float32Array {
  return random.fillNormal(new Float32Array(length), Math.sqrt(2 / fanIn));
}

function floatInitializer(name: string, dims: number[], values: Float32Array): Initializer {
  return { name, dims, dataType: ONNX_DATA_TYPE.FLOAT, rawData: littleEndianBytes(values) };
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

function intsAttribute(name: string, ints: number[]): Attribute {
  return { name, ints, type: ONNX_ATTRIBUTE_TYPE.INTS };
}

function intAttribute(name: string, i: number): Attribute {
  return { name, i, type: ONNX_ATTRIBUTE_TYPE.INT };
}

function tensorValueInfo(name: string, dims: Array<number | string>) {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_DATA_TYPE.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
