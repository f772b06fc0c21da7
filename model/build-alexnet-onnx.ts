import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ALEXNET_LAYERS, type AlexNetLayer } from './alexnet-architecture.js';
import {
  CLASS_COUNT,
  DEFAULT_DEV_MODEL_SEED,
  MODEL_INPUT,
  PRETRAINED_METADATA_KEY,
  WEIGHTS_METADATA_KEY,
} from './constants.js';
import {
  intAttribute,
  intsAttribute,
  tensorInitializer,
  tensorValueInfo,
  type OnnxAttribute,
  type OnnxInitializer,
  type OnnxNode,
} from './onnx-graph.js';
import { OnnxModelProto } from './onnx-schema.js';
import { SeededNormalRandom } from './seeded-random.js';

/** ONNX opset and IR version of the generated graph (both supported by every current runtime). */
const OPSET_VERSION = 17;
const IR_VERSION = 8;

export const DEV_MODEL_INPUT_NAME = 'pixel_values';
export const DEV_MODEL_OUTPUT_NAME = 'logits';

/** Options of {@link buildDevAlexNetOnnx}. */
export interface BuildAlexNetOptions {
  /** Seed of the He-initialised weights. Default: {@link DEFAULT_DEV_MODEL_SEED}. */
  readonly seed?: number;
}

/**
 * Where the graph's parameters come from: called once per parameter, in torchvision's state_dict
 * order (each layer's weight, then its bias), with its name and dims; returns its values, row-major.
 */
export type AlexNetParameterSource = (name: string, dims: readonly number[]) => Float32Array;

/** What the ONNX says about its weights (metadata every result carries). */
export interface AlexNetWeightsIdentity {
  /** `alexnet_pipeline.weights`, e.g. `torchvision:IMAGENET1K_V1`. */
  readonly weights: string;
  /** Written as `alexnet_pipeline.pretrained` when given; left out, the weights label decides. */
  readonly pretrained?: boolean;
  readonly docString: string;
  /** Further `metadata_props` entries (a quantized model's provenance). Default: none. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Describes where the weights of a dev model built with `seed` come from. */
export function devWeightsDescription(seed: number): string {
  return `untrained:he-normal:seed=${seed}`;
}

/**
 * Seeded, He-initialised weights (normal, std √(2/fan_in)) and zero biases: untrained, but every
 * output depends on the image. The same seed gives the same values, drawn in parameter order.
 */
export function heNormalParameters(seed: number): AlexNetParameterSource {
  const random = new SeededNormalRandom(seed);
  return (name, dims) => {
    const values = new Float32Array(dims.reduce((product, size) => product * size, 1));
    if (name.endsWith('.bias')) return values;
    const fanIn = dims.slice(1).reduce((product, size) => product * size, 1);
    return random.fillNormal(values, Math.sqrt(2 / fanIn));
  };
}

/** The dev model: torchvision's AlexNet with {@link heNormalParameters}. The same seed gives the same bytes. */
export function buildDevAlexNetOnnx(options: BuildAlexNetOptions = {}): Uint8Array {
  const seed = options.seed ?? DEFAULT_DEV_MODEL_SEED;
  return buildAlexNetOnnx(heNormalParameters(seed), {
    weights: devWeightsDescription(seed),
    docString: 'torchvision AlexNet architecture with untrained He-initialised weights (for development and tests)',
  });
}

/** Options of {@link buildAlexNetOnnx}. */
export interface AlexNetGraphOptions {
  /**
   * Intermediate tensors (`<layer>.output`) to make graph outputs too, after the logits: what
   * calibration reads. Default: none.
   */
  readonly tappedOutputs?: readonly string[];
}

/** Builds torchvision's AlexNet graph as a serialized ONNX model with the given parameters. */
export function buildAlexNetOnnx(
  parameters: AlexNetParameterSource,
  identity: AlexNetWeightsIdentity,
  options: AlexNetGraphOptions = {},
): Uint8Array {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  let current = DEV_MODEL_INPUT_NAME;

  for (const layer of ALEXNET_LAYERS) {
    const output = layerOutputName(layer);
    const { node, parameters: layerParameters } = layerToOnnx(layer, current, output, parameters);
    nodes.push(node);
    initializers.push(...layerParameters);
    current = output;
  }
  return encodeAlexNetModel({ nodes, initializers, identity, tappedOutputs: options.tappedOutputs });
}

/** The tensor a layer writes: `<layer>.output`, and the graph's output for the last layer. */
export function layerOutputName(layer: AlexNetLayer): string {
  return layer === ALEXNET_LAYERS[ALEXNET_LAYERS.length - 1] ? DEV_MODEL_OUTPUT_NAME : `${layer.name}.output`;
}

/** A finished AlexNet graph (fp32 or quantized) as a serialized model with the project's metadata. */
export function encodeAlexNetModel(graph: {
  nodes: OnnxNode[];
  initializers: OnnxInitializer[];
  identity: AlexNetWeightsIdentity;
  tappedOutputs?: readonly string[];
}): Uint8Array {
  const { identity } = graph;
  const metadataProps = [{ key: WEIGHTS_METADATA_KEY, value: identity.weights }];
  if (identity.pretrained !== undefined)
    metadataProps.push({ key: PRETRAINED_METADATA_KEY, value: String(identity.pretrained) });
  for (const [key, value] of Object.entries(identity.metadata ?? {})) metadataProps.push({ key, value });
  const model = OnnxModelProto.fromObject({
    irVersion: IR_VERSION,
    producerName: 'alexnet-pipeline',
    producerVersion: '1',
    docString: identity.docString,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    metadataProps,
    graph: {
      name: 'alexnet',
      node: graph.nodes,
      initializer: graph.initializers,
      input: [
        tensorValueInfo(DEV_MODEL_INPUT_NAME, [
          'batch',
          MODEL_INPUT.channels,
          MODEL_INPUT.cropSize,
          MODEL_INPUT.cropSize,
        ]),
      ],
      output: [
        tensorValueInfo(DEV_MODEL_OUTPUT_NAME, ['batch', CLASS_COUNT]),
        ...(graph.tappedOutputs ?? []).map((name) => tensorValueInfo(name)),
      ],
    },
  });
  return OnnxModelProto.encode(model).finish();
}

/** Writes a model atomically (a temporary name, then rename), so a reader never sees half a file. */
export async function writeOnnxAtomically(filePath: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(filePath), { recursive: true });
  const temporary = `${filePath}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, filePath);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Builds the dev model and writes it atomically. */
export async function writeDevAlexNetOnnx(filePath: string, options: BuildAlexNetOptions = {}): Promise<void> {
  await writeOnnxAtomically(filePath, buildDevAlexNetOnnx(options));
}

/** One layer's node and its fp32 parameters, reading `input` and writing `output`. */
export function layerToOnnx(
  layer: AlexNetLayer,
  input: string,
  output: string,
  source: AlexNetParameterSource,
): { node: OnnxNode; parameters: OnnxInitializer[] } {
  const node = (opType: string, inputs: string[], attribute: OnnxAttribute[] = []): OnnxNode => ({
    input: inputs,
    output: [output],
    name: layer.name,
    opType,
    attribute,
  });
  switch (layer.kind) {
    case 'conv': {
      const parameters = [
        parameterInitializer(source, `${layer.name}.weight`, [
          layer.outChannels,
          layer.inChannels,
          layer.kernel,
          layer.kernel,
        ]),
        parameterInitializer(source, `${layer.name}.bias`, [layer.outChannels]),
      ];
      const attributes = [
        intsAttribute('kernel_shape', [layer.kernel, layer.kernel]),
        intsAttribute('strides', [layer.stride, layer.stride]),
        intsAttribute('pads', [layer.padding, layer.padding, layer.padding, layer.padding]),
      ];
      return { node: node('Conv', [input, ...parameters.map((p) => p.name)], attributes), parameters };
    }
    case 'linear': {
      const parameters = [
        parameterInitializer(source, `${layer.name}.weight`, [layer.outFeatures, layer.inFeatures]),
        parameterInitializer(source, `${layer.name}.bias`, [layer.outFeatures]),
      ];
      // Gemm with transB = 1 takes the weight in torch's [out, in] layout, as torch.onnx exports it.
      const attributes = [intAttribute('transB', 1)];
      return { node: node('Gemm', [input, ...parameters.map((p) => p.name)], attributes), parameters };
    }
    case 'relu':
      return { node: node('Relu', [input]), parameters: [] };
    case 'maxpool':
      return {
        node: node(
          'MaxPool',
          [input],
          [
            intsAttribute('kernel_shape', [layer.kernel, layer.kernel]),
            intsAttribute('strides', [layer.stride, layer.stride]),
          ],
        ),
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

function parameterInitializer(source: AlexNetParameterSource, name: string, dims: number[]): OnnxInitializer {
  return tensorInitializer(name, dims, source(name, dims));
}
