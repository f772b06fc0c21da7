import { endianness } from 'node:os';
import { ONNX_ATTRIBUTE_TYPE, ONNX_DATA_TYPE } from './onnx-schema.js';

/** The parts of an ONNX graph the project's builders write (plain objects for `OnnxModelProto.fromObject`). */
export type OnnxAttribute = Record<string, unknown>;
export type OnnxNode = { input: string[]; output: string[]; name: string; opType: string; attribute: OnnxAttribute[] };
export type OnnxInitializer = { name: string; dims: number[]; dataType: number; rawData: Uint8Array };

/** Element types an initializer can hold, by their ONNX data type. */
type ElementArray = Float32Array | Int8Array | Uint8Array | Int32Array;

const DATA_TYPE_OF = new Map<new (length: number) => ElementArray, number>([
  [Float32Array, ONNX_DATA_TYPE.FLOAT],
  [Int8Array, ONNX_DATA_TYPE.INT8],
  [Uint8Array, ONNX_DATA_TYPE.UINT8],
  [Int32Array, ONNX_DATA_TYPE.INT32],
]);

/** An initializer of the given values; its ONNX type follows the array's (float32, int8, uint8, int32). */
export function tensorInitializer(name: string, dims: number[], values: ElementArray): OnnxInitializer {
  const expected = dims.reduce((product, size) => product * size, 1);
  if (values.length !== expected)
    throw new RangeError(`${name} has ${values.length} values, expected ${expected} for [${dims.join(', ')}]`);
  const dataType = DATA_TYPE_OF.get(values.constructor as new (length: number) => ElementArray)!;
  return { name, dims, dataType, rawData: littleEndianBytes(values) };
}

/** ONNX raw data is little-endian: on a little-endian machine (all we run on) that is a view, not a copy. */
function littleEndianBytes(values: ElementArray): Uint8Array {
  if (endianness() === 'LE' || values.BYTES_PER_ELEMENT === 1)
    return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) {
    if (values instanceof Float32Array) view.setFloat32(i * 4, values[i]!, true);
    else view.setInt32(i * 4, values[i]!, true);
  }
  return bytes;
}

export function intsAttribute(name: string, ints: number[]): OnnxAttribute {
  return { name, ints, type: ONNX_ATTRIBUTE_TYPE.INTS };
}

export function intAttribute(name: string, i: number): OnnxAttribute {
  return { name, i, type: ONNX_ATTRIBUTE_TYPE.INT };
}

/** A float tensor's value info; `dims` undefined leaves the shape unstated (a tapped intermediate). */
export function tensorValueInfo(name: string, dims?: Array<number | string>) {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: { elemType: ONNX_DATA_TYPE.FLOAT, ...(shape && { shape }) } } };
}
