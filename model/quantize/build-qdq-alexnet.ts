import { ALEXNET_LAYERS, type AlexNetLayer } from '../alexnet-architecture.js';
import {
  DEV_MODEL_INPUT_NAME,
  encodeAlexNetModel,
  layerOutputName,
  layerToOnnx,
  type AlexNetParameterSource,
  type AlexNetWeightsIdentity,
} from '../build-alexnet-onnx.js';
import { intAttribute, tensorInitializer, type OnnxInitializer, type OnnxNode } from '../onnx-graph.js';
import {
  activationQuantization,
  biasCorrectedForRounding,
  quantizeBias,
  quantizeWeightsPerChannel,
  type ActivationQuantization,
} from './quantization-math.js';

/**
 * What calibration found: the range of the input, the largest output of each ReLU, and the mean of
 * each Conv's and Gemm's inputs, by layer name.
 */
export interface CalibrationStatistics {
  readonly input: { readonly min: number; readonly max: number };
  /** `features.1` → the largest value its ReLU is given to hold (see `calibrateActivations`). */
  readonly reluMaxima: ReadonlyMap<string, number>;
  /** `features.3` → the mean of each channel (Conv) or feature (Gemm) of its input: for bias correction. */
  readonly inputMeans: ReadonlyMap<string, Float64Array>;
}

/** The nodes and initializers of a graph being built. */
interface GraphParts {
  readonly nodes: OnnxNode[];
  readonly initializers: OnnxInitializer[];
}

/**
 * AlexNet in ONNX's QDQ form, the static int8 layout ONNX Runtime's CPU provider fuses into integer
 * kernels: every Conv and Gemm reads its weight through DequantizeLinear from per-channel symmetric
 * int8 (and its bias from int32 at input × weight scale, corrected for the weights' rounding: see
 * `biasCorrectedForRounding`), and its input from a QuantizeLinear →
 * DequantizeLinear pair on uint8 with the calibrated scale. The graph is otherwise the fp32 one:
 * ReLU → Q (zero point 0, so the runtime folds the ReLU into the convolution), DQ → MaxPool → Q at
 * one scale (the pool then runs on uint8), and the last Gemm writes float logits.
 */
export function buildQdqAlexNetOnnx(
  parameters: AlexNetParameterSource,
  statistics: CalibrationStatistics,
  identity: AlexNetWeightsIdentity,
): Uint8Array {
  const graph: GraphParts = { nodes: [], initializers: [] };
  let quantization = activationQuantization(statistics.input.min, statistics.input.max);
  let current = addQuantizeDequantize(graph, DEV_MODEL_INPUT_NAME, quantization);
  /** Whether `current` is a DequantizeLinear's output (or one passed through dropout unchanged). */
  let dequantized = true;

  for (const layer of ALEXNET_LAYERS) {
    const output = layerOutputName(layer);
    if (layer.kind === 'conv' || layer.kind === 'linear') {
      if (!dequantized) current = addQuantizeDequantize(graph, current, quantization);
      const inputMeans = statistics.inputMeans.get(layer.name);
      if (inputMeans === undefined) throw new RangeError(`no calibrated input means for ${layer.name}`);
      addQuantizedParametersNode(graph, layer, current, output, parameters, { scale: quantization.scale, inputMeans });
      current = output;
      dequantized = false;
      continue;
    }
    graph.nodes.push(layerToOnnx(layer, current, output, parameters).node);
    if (layer.kind === 'relu') {
      const maximum = statistics.reluMaxima.get(layer.name);
      if (maximum === undefined) throw new RangeError(`no calibrated range for ${layer.name}`);
      quantization = activationQuantization(0, maximum);
    }
    // A ReLU's or a max pool's output is quantized at once (the runtime's fusion patterns); flatten,
    // the 1×1 average pool and dropout pass floats on to the next Conv or Gemm's pair.
    const quantizeHere = layer.kind === 'relu' || layer.kind === 'maxpool';
    current = quantizeHere ? addQuantizeDequantize(graph, output, quantization) : output;
    dequantized = quantizeHere || (dequantized && layer.kind === 'dropout');
  }
  return encodeAlexNetModel({ nodes: graph.nodes, initializers: graph.initializers, identity });
}

/** `tensor` → QuantizeLinear → DequantizeLinear; returns the dequantized tensor's name. */
function addQuantizeDequantize(graph: GraphParts, tensor: string, quantization: ActivationQuantization): string {
  const scale = `${tensor}.scale`;
  const zeroPoint = `${tensor}.zero_point`;
  graph.initializers.push(
    tensorInitializer(scale, [], Float32Array.of(quantization.scale)),
    tensorInitializer(zeroPoint, [], Uint8Array.of(quantization.zeroPoint)),
  );
  const quantized = `${tensor}.quantized`;
  const dequantized = `${tensor}.dequantized`;
  graph.nodes.push(
    {
      input: [tensor, scale, zeroPoint],
      output: [quantized],
      name: `${tensor}.quantize`,
      opType: 'QuantizeLinear',
      attribute: [],
    },
    {
      input: [quantized, scale, zeroPoint],
      output: [dequantized],
      name: `${tensor}.dequantize`,
      opType: 'DequantizeLinear',
      attribute: [],
    },
  );
  return dequantized;
}

/** A Conv or Gemm whose weight and bias come through DequantizeLinear from int8 and int32. */
function addQuantizedParametersNode(
  graph: GraphParts,
  layer: Extract<AlexNetLayer, { kind: 'conv' | 'linear' }>,
  input: string,
  output: string,
  parameters: AlexNetParameterSource,
  inputs: { readonly scale: number; readonly inputMeans: Float64Array },
): void {
  const { node, parameters: floats } = layerToOnnx(layer, input, output, parameters);
  const [weight, bias] = floats as [OnnxInitializer, OnnxInitializer];
  const channels = weight.dims[0]!;
  const weights = quantizeWeightsPerChannel(floatsOf(weight), channels);
  const corrected = biasCorrectedForRounding(floatsOf(bias), floatsOf(weight), weights, inputs.inputMeans);
  const biases = quantizeBias(corrected, inputs.scale, weights.scales);
  addChannelDequantize(graph, weight.name, weight.dims, weights.values, weights.scales, new Int8Array(channels));
  addChannelDequantize(graph, bias.name, [channels], biases.values, biases.scales, new Int32Array(channels));
  graph.nodes.push(node);
}

/** An int8/int32 initializer and its DequantizeLinear per output channel (axis 0: Conv's, and Gemm's with transB). */
function addChannelDequantize(
  graph: GraphParts,
  name: string,
  dims: number[],
  values: Int8Array | Int32Array,
  scales: Float32Array,
  zeroPoints: Int8Array | Int32Array,
): void {
  graph.initializers.push(
    tensorInitializer(`${name}.quantized`, dims, values),
    tensorInitializer(`${name}.scale`, [scales.length], scales),
    tensorInitializer(`${name}.zero_point`, [zeroPoints.length], zeroPoints),
  );
  graph.nodes.push({
    input: [`${name}.quantized`, `${name}.scale`, `${name}.zero_point`],
    output: [name],
    name: `${name}.dequantize`,
    opType: 'DequantizeLinear',
    attribute: [intAttribute('axis', 0)],
  });
}

/** An fp32 initializer's values (the builder made it from a Float32Array: a view, not a copy). */
function floatsOf(initializer: OnnxInitializer): Float32Array {
  const bytes = initializer.rawData;
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}
