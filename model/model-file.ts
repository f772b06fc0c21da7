import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import protobuf from 'protobufjs';
import {
  PRECISION_METADATA_KEY,
  PRETRAINED_METADATA_KEY,
  PRETRAINED_WEIGHTS_PREFIX,
  QUANTIZATION_METADATA_KEY,
  WEIGHTS_METADATA_KEY,
  type Precision,
} from './constants.js';
import { ModelError } from './errors.js';
import { MODEL_METADATA_PROPS_FIELD, OnnxStringStringEntryProto } from './onnx-schema.js';

/** What travels with every result: which model produced it. */
export interface ModelIdentity {
  /** SHA-256 of the ONNX file, hex. */
  readonly sha256: string;
  /** True only when the model's metadata declares pretrained ImageNet weights. */
  readonly pretrained: boolean;
  /** Where the weights came from, as the model's metadata says (`unknown` when it says nothing). */
  readonly weights: string;
  /** `int8` for a model `model quantize` made, else `fp32`. */
  readonly precision: Precision;
  /** How a quantized model was made (absent for fp32). */
  readonly quantization?: QuantizationProvenance;
}

/** What a quantized model records of its making (metadata `alexnet_pipeline.quantization`, JSON). */
export interface QuantizationProvenance {
  /** e.g. `qdq-static: int8 per-channel symmetric weights, uint8 per-tensor min-max activations`. */
  readonly method: string;
  /** SHA-256 of the fp32 model it was quantized from. */
  readonly sourceSha256: string;
  /** SHA-256 over the calibration images' SHA-256s, in name order, and how many there were. */
  readonly calibrationSha256: string;
  readonly calibrationImages: number;
}

/** An ONNX file and its identity. */
export interface ModelFile {
  readonly path: string;
  readonly identity: ModelIdentity;
}

/** A metadata entry larger than this is not a label of weights: the file is refused. */
const MAX_METADATA_ENTRY_BYTES = 1 << 20;

/** Bytes read at once while hashing: the file is never held whole (a model is ~244 MB). */
const HASH_CHUNK_BYTES = 1 << 20;

/**
 * Reads an ONNX model file for its SHA-256 and weights metadata, streaming: memory stays at a
 * chunk whatever the file's size. The bytes are not kept: the inference thread loads the model
 * from the same path.
 */
export async function readModelFile(filePath: string): Promise<ModelFile> {
  let handle: FileHandle;
  try {
    handle = await open(filePath, 'r');
  } catch (error) {
    throw new ModelError('MODEL_NOT_FOUND', `cannot read model file ${filePath}: ${(error as Error).message}`, {
      cause: error,
      context: { path: filePath },
    });
  }
  try {
    const metadata = await readModelMetadataFromFile(handle, filePath);
    const sha256 = await hashFile(handle);
    const weights = metadata[WEIGHTS_METADATA_KEY] ?? 'unknown';
    const declared = metadata[PRETRAINED_METADATA_KEY];
    const precision = metadata[PRECISION_METADATA_KEY] === 'int8' ? 'int8' : 'fp32';
    const quantization = precision === 'int8' ? parseProvenance(metadata[QUANTIZATION_METADATA_KEY]) : undefined;
    return {
      path: filePath,
      identity: {
        sha256,
        weights,
        pretrained: declared === undefined ? weights.startsWith(PRETRAINED_WEIGHTS_PREFIX) : declared === 'true',
        precision,
        ...(quantization && { quantization }),
      },
    };
  } finally {
    await handle.close();
  }
}

/** A quantized model's provenance, or undefined when its metadata entry is absent or not that JSON. */
function parseProvenance(value: string | undefined): QuantizationProvenance | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<QuantizationProvenance>;
    const { method, sourceSha256, calibrationSha256, calibrationImages } = parsed;
    if (typeof method !== 'string' || typeof sourceSha256 !== 'string' || typeof calibrationSha256 !== 'string')
      return undefined;
    if (typeof calibrationImages !== 'number') return undefined;
    return { method, sourceSha256, calibrationSha256, calibrationImages };
  } catch {
    return undefined;
  }
}

async function hashFile(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false, highWaterMark: HASH_CHUNK_BYTES }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** One top-level protobuf field: where its body starts (after tag and length) and how long it is. */
interface FieldHeader {
  readonly field: number;
  readonly headerLength: number;
  readonly bodyLength: number;
  /** Only length-delimited fields (wire type 2) hold a message such as a metadata entry. */
  readonly lengthDelimited: boolean;
}

/**
 * A model's top level holds a few fields (its graph, a handful of opsets and metadata entries); a
 * file that keeps going in tiny fields is not a model, and walking it would cost one read per field.
 */
const MAX_TOP_LEVEL_FIELDS = 100_000;

/** Enough bytes for a tag and a length varint. */
const FIELD_HEADER_BYTES = 20;

/** Decodes the tag (and the length, or the fixed size) at the start of `header`. Throws on a malformed one. */
function readFieldHeader(header: Uint8Array): FieldHeader {
  const reader = protobuf.Reader.create(header);
  const tag = reader.uint32();
  const wireType = tag & 7;
  const field = tag >>> 3;
  // Field 0 does not exist in protobuf: a file of zeros would otherwise walk two bytes at a time.
  if (field === 0) throw new RangeError('field number 0');
  if (wireType === 0) {
    reader.skipType(0);
    return { field, headerLength: reader.pos, bodyLength: 0, lengthDelimited: false };
  }
  if (wireType === 1 || wireType === 5)
    return { field, headerLength: reader.pos, bodyLength: wireType === 1 ? 8 : 4, lengthDelimited: false };
  if (wireType !== 2) throw new RangeError(`wire type ${wireType} at the top level of a model`);
  const bodyLength = reader.uint32();
  return { field, headerLength: reader.pos, bodyLength, lengthDelimited: true };
}

function decodeMetadataEntry(body: Uint8Array): { key: string; value: string } {
  return OnnxStringStringEntryProto.decode(body) as unknown as { key: string; value: string };
}

function notOnnx(filePath: string, error: unknown): ModelError {
  return new ModelError(
    'MODEL_INVALID',
    `${filePath} is not an ONNX model (its bytes do not parse as ONNX's protobuf)`,
    {
      cause: error,
      context: { path: filePath },
    },
  );
}

/** Reads `length` bytes at `position` (fewer at the end): a file handle's or a buffer's. */
type PositionedRead = (position: number, length: number) => Promise<Uint8Array>;

/**
 * Reads `ModelProto.metadata_props` by walking the top-level fields with positioned reads: the
 * graph and its weights, most of the model, are skipped unread. A field that runs past the end, a
 * metadata entry larger than {@link MAX_METADATA_ENTRY_BYTES}, field number 0, or more than
 * {@link MAX_TOP_LEVEL_FIELDS} fields make the model invalid.
 */
async function walkMetadata(size: number, read: PositionedRead, filePath: string): Promise<Record<string, string>> {
  const metadata: Record<string, string> = {};
  try {
    let position = 0;
    for (let fields = 0; position < size; fields++) {
      if (fields === MAX_TOP_LEVEL_FIELDS) throw new RangeError(`more than ${MAX_TOP_LEVEL_FIELDS} top-level fields`);
      const next = readFieldHeader(await read(position, Math.min(FIELD_HEADER_BYTES, size - position)));
      const bodyStart = position + next.headerLength;
      if (bodyStart + next.bodyLength > size)
        throw new RangeError(`field ${next.field} runs past the end of the model`);
      if (next.field === MODEL_METADATA_PROPS_FIELD && next.lengthDelimited) {
        if (next.bodyLength > MAX_METADATA_ENTRY_BYTES)
          throw new RangeError(`a metadata entry of ${next.bodyLength} bytes`);
        const entry = decodeMetadataEntry(await read(bodyStart, next.bodyLength));
        metadata[entry.key] = entry.value;
      }
      position = bodyStart + next.bodyLength;
    }
  } catch (error) {
    throw notOnnx(filePath, error);
  }
  return metadata;
}

async function readModelMetadataFromFile(handle: FileHandle, filePath: string): Promise<Record<string, string>> {
  const { size } = await handle.stat().catch((error: unknown) => {
    throw notOnnx(filePath, error);
  });
  const read: PositionedRead = async (position, length) => {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  };
  return walkMetadata(size, read, filePath);
}

/** `ModelProto.metadata_props` of a model in memory (see {@link walkMetadata}). */
export function readModelMetadata(bytes: Uint8Array, filePath = '<buffer>'): Promise<Record<string, string>> {
  return walkMetadata(bytes.length, async (position, length) => bytes.subarray(position, position + length), filePath);
}
