import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import protobuf from 'protobufjs';
import { PRETRAINED_METADATA_KEY, PRETRAINED_WEIGHTS_PREFIX, WEIGHTS_METADATA_KEY } from './constants.js';
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
}

/** An ONNX file and its identity. */
export interface ModelFile {
  readonly path: string;
  readonly identity: ModelIdentity;
}

/**
 * Reads an ONNX model file for its SHA-256 and weights metadata. The bytes are not kept: the
 * inference thread loads the model from the same path.
 */
export async function readModelFile(filePath: string): Promise<ModelFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    throw new ModelError('MODEL_NOT_FOUND', `cannot read model file ${filePath}: ${(error as Error).message}`, {
      cause: error,
      context: { path: filePath },
    });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const metadata = readModelMetadata(bytes, filePath);
  const weights = metadata[WEIGHTS_METADATA_KEY] ?? 'unknown';
  const declared = metadata[PRETRAINED_METADATA_KEY];
  return {
    path: filePath,
    identity: { sha256, weights, pretrained: declared === undefined ? weights.startsWith(PRETRAINED_WEIGHTS_PREFIX) : declared === 'true' },
  };
}

/**
 * Reads `ModelProto.metadata_props` by walking the top-level fields and skipping the rest (the
 * graph and its weights are most of the file and are not decoded here).
 */
export function readModelMetadata(bytes: Uint8Array, filePath = '<buffer>'): Record<string, string> {
  const metadata: Record<string, string> = {};
  try {
    const reader = protobuf.Reader.create(bytes);
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      const field = tag >>> 3;
      if (field === MODEL_METADATA_PROPS_FIELD && (tag & 7) === 2) {
        const entry = OnnxStringStringEntryProto.decode(reader.bytes()) as unknown as { key: string; value: string };
        metadata[entry.key] = entry.value;
      } else {
        reader.skipType(tag & 7);
      }
    }
  } catch (error) {
    throw new ModelError('MODEL_INVALID', `${filePath} is not an ONNX model (its bytes do not parse as ONNX's protobuf)`, {
      cause: error,
      context: { path: filePath },
    });
  }
  return metadata;
}
