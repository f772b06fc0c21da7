import { ALEXNET_LAYERS, type AlexNetLayer } from '../alexnet-architecture.js';
import type { AlexNetParameterSource } from '../build-alexnet-onnx.js';
import { ModelError } from '../errors.js';
import { ONNX_DATA_TYPE, OnnxModelProto } from '../onnx-schema.js';

/** An fp32 AlexNet read from an ONNX file: its parameters, by torchvision name, and its metadata. */
export interface AlexNetOnnxContents {
  readonly parameters: AlexNetParameterSource;
  readonly metadata: Readonly<Record<string, string>>;
}

type DecodedAttribute = { name: string; i?: number; ints?: number[]; f?: number };
type DecodedNode = {
  opType: string;
  input?: string[];
  output?: string[];
  attribute?: DecodedAttribute[];
  domain?: string;
};
type DecodedTensor = {
  name: string;
  dims?: number[];
  dataType: number;
  rawData?: Uint8Array;
  floatData?: number[];
  externalData?: unknown[];
  dataLocation?: number;
};
type DecodedModel = {
  graph?: { node?: DecodedNode[]; initializer?: DecodedTensor[] };
  metadataProps?: { key: string; value: string }[];
};

/** Operators that mean the model is quantized already (QDQ, QOperator or integer-op forms). */
const QUANTIZED_OPERATORS = new Set([
  'QuantizeLinear',
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'QLinearConv',
  'QLinearMatMul',
  'ConvInteger',
  'MatMulInteger',
  'QGemm',
]);

/** Operators an exported AlexNet may carry that compute nothing at inference. */
const PASS_THROUGH_OPERATORS = new Set(['Dropout', 'Identity']);

/** The operator each layer of torchvision's AlexNet exports to. */
const OPERATOR_OF: Record<AlexNetLayer['kind'], string | undefined> = {
  conv: 'Conv',
  relu: 'Relu',
  maxpool: 'MaxPool',
  'adaptive-avgpool': 'AveragePool',
  flatten: 'Flatten',
  dropout: undefined,
  linear: 'Gemm',
};

/**
 * Reads an fp32 AlexNet from ONNX bytes: the graph this project builds (`model fetch`, `model
 * convert`, the dev model) or torch.onnx's export of torchvision's AlexNet. Checked, not assumed:
 * the operators must be AlexNet's in order, each Conv and Gemm with torchvision's kernel, stride,
 * padding and parameter shapes, and every parameter float32 inside the file. Throws
 * `MODEL_ALREADY_QUANTIZED` for a quantized model and `MODEL_NOT_ALEXNET` for anything else.
 */
export function readAlexNetOnnx(bytes: Uint8Array, filePath: string): AlexNetOnnxContents {
  let model: DecodedModel;
  try {
    model = OnnxModelProto.toObject(OnnxModelProto.decode(bytes), { longs: Number }) as DecodedModel;
  } catch (error) {
    throw new ModelError(
      'MODEL_INVALID',
      `${filePath} is not an ONNX model (its bytes do not parse as ONNX's protobuf)`,
      {
        cause: error,
        context: { path: filePath },
      },
    );
  }
  const metadata = Object.fromEntries((model.metadataProps ?? []).map((entry) => [entry.key, entry.value]));
  const nodes = (model.graph?.node ?? []).filter((node) => !PASS_THROUGH_OPERATORS.has(node.opType));
  const quantized = nodes.find((node) => QUANTIZED_OPERATORS.has(node.opType));
  if (quantized)
    throw new ModelError(
      'MODEL_ALREADY_QUANTIZED',
      `${filePath} is already quantized (it has ${quantized.opType} operators): quantize its fp32 original, or run it as it is without --precision int8`,
      { context: { path: filePath } },
    );
  const notAlexNet = (why: string) =>
    new ModelError('MODEL_NOT_ALEXNET', `${filePath} is not torchvision's AlexNet: ${why}`, {
      context: { path: filePath },
    });
  const layers = ALEXNET_LAYERS.filter((layer) => OPERATOR_OF[layer.kind] !== undefined);
  if (nodes.length !== layers.length)
    throw notAlexNet(`it has ${nodes.length} operators where AlexNet has ${layers.length}`);
  const initializers = new Map((model.graph?.initializer ?? []).map((tensor) => [tensor.name, tensor]));
  // torch.onnx shares equal initializers (an untrained model's zero biases) through Identity nodes.
  const identities = new Map(
    (model.graph?.node ?? [])
      .filter((node) => node.opType === 'Identity')
      .map((node) => [node.output?.[0], node.input?.[0]]),
  );
  const initializerOf = (name: string) => {
    for (let hops = 0; hops < identities.size && identities.has(name); hops++) name = identities.get(name)!;
    return initializers.get(name);
  };
  const parameters = new Map<string, Float32Array>();
  layers.forEach((layer, index) => {
    const node = nodes[index]!;
    const expected = OPERATOR_OF[layer.kind]!;
    if (node.opType !== expected || (node.domain ?? '') !== '')
      throw notAlexNet(`operator ${index + 1} is ${node.opType}, where AlexNet has ${expected} (${layer.name})`);
    const problem = attributeProblem(layer, node);
    if (problem) throw notAlexNet(`${layer.name}: ${problem}`);
    if (layer.kind !== 'conv' && layer.kind !== 'linear') return;
    const shapes = parameterShapes(layer);
    (['weight', 'bias'] as const).forEach((role, position) => {
      const tensor = initializerOf(node.input?.[position + 1] ?? '');
      if (!tensor) throw notAlexNet(`${layer.name} has no ${role} stored in the file`);
      parameters.set(
        `${layer.name}.${role}`,
        floatParameter(tensor, shapes[role], `${layer.name}.${role}`, notAlexNet),
      );
    });
  });
  const source: AlexNetParameterSource = (name) => {
    const values = parameters.get(name);
    if (!values) throw new RangeError(`no parameter ${name}`);
    return values;
  };
  return { parameters: source, metadata };
}

function parameterShapes(layer: Extract<AlexNetLayer, { kind: 'conv' | 'linear' }>): {
  weight: number[];
  bias: number[];
} {
  if (layer.kind === 'conv')
    return { weight: [layer.outChannels, layer.inChannels, layer.kernel, layer.kernel], bias: [layer.outChannels] };
  return { weight: [layer.outFeatures, layer.inFeatures], bias: [layer.outFeatures] };
}

/** What differs between a node's attributes and the layer's, or undefined when nothing does. */
function attributeProblem(layer: AlexNetLayer, node: DecodedNode): string | undefined {
  const attribute = (name: string) => node.attribute?.find((a) => a.name === name);
  const ints = (name: string, fallback: number[]) => attribute(name)?.ints ?? fallback;
  const same = (a: number[], b: number[]) => a.length === b.length && a.every((value, i) => value === b[i]);
  if (layer.kind === 'conv') {
    const { kernel, stride, padding } = layer;
    if (!same(ints('kernel_shape', [kernel, kernel]), [kernel, kernel])) return `kernel is not ${kernel}×${kernel}`;
    if (!same(ints('strides', [1, 1]), [stride, stride])) return `stride is not ${stride}`;
    if (!same(ints('pads', [0, 0, 0, 0]), [padding, padding, padding, padding])) return `padding is not ${padding}`;
    if (!same(ints('dilations', [1, 1]), [1, 1]) || (attribute('group')?.i ?? 1) !== 1) return 'dilated or grouped';
  }
  if (layer.kind === 'maxpool') {
    if (!same(ints('kernel_shape', []), [layer.kernel, layer.kernel]))
      return `pool is not ${layer.kernel}×${layer.kernel}`;
    if (!same(ints('strides', [1, 1]), [layer.stride, layer.stride])) return `pool stride is not ${layer.stride}`;
  }
  if (layer.kind === 'linear') {
    // Our builder and torch.onnx both write Gemm with the weight [out, in] and transB = 1.
    if ((attribute('transB')?.i ?? 0) !== 1 || (attribute('transA')?.i ?? 0) !== 0)
      return 'Gemm is not x · Wᵀ (transB = 1)';
    if ((attribute('alpha')?.f ?? 1) !== 1 || (attribute('beta')?.f ?? 1) !== 1) return 'Gemm scales its terms';
  }
  return undefined;
}

/** A parameter's float32 values, copied out of the file's bytes (which need not be 4-byte aligned). */
function floatParameter(
  tensor: DecodedTensor,
  dims: number[],
  name: string,
  notAlexNet: (why: string) => ModelError,
): Float32Array {
  const stored = tensor.dims ?? [];
  if (stored.length !== dims.length || stored.some((size, i) => size !== dims[i]))
    throw notAlexNet(`${name} is [${stored.join(', ')}], not [${dims.join(', ')}]`);
  if (tensor.dataType !== ONNX_DATA_TYPE.FLOAT)
    throw notAlexNet(`${name} is not float32 (ONNX type ${tensor.dataType})`);
  if (tensor.dataLocation === 1 || (tensor.externalData?.length ?? 0) > 0)
    throw notAlexNet(`${name} is stored outside the file (external data is not read)`);
  const count = dims.reduce((product, size) => product * size, 1);
  if (tensor.rawData && tensor.rawData.length > 0) {
    if (tensor.rawData.length !== count * 4)
      throw notAlexNet(`${name} holds ${tensor.rawData.length} bytes, not ${count * 4}`);
    const values = new Float32Array(count);
    new Uint8Array(values.buffer).set(tensor.rawData);
    return values;
  }
  if (tensor.floatData?.length === count) return Float32Array.from(tensor.floatData);
  throw notAlexNet(`${name} holds ${tensor.floatData?.length ?? 0} values, not ${count}`);
}
