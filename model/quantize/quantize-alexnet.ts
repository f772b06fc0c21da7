import { readFile, stat } from 'node:fs/promises';
import type { Logger } from '../../common/logger.js';
import { silentLogger } from '../../common/logger.js';
import { writeOnnxAtomically } from '../build-alexnet-onnx.js';
import { PRECISION_METADATA_KEY, QUANTIZATION_METADATA_KEY } from '../constants.js';
import { describeError } from '../../common/errors.js';
import { ModelError } from '../errors.js';
import { readModelFile, type ModelIdentity, type QuantizationProvenance } from '../model-file.js';
import { DEFAULT_PREPROCESS_OPTIONS, decodeImage } from '../preprocess.js';
import { readImageFile } from '../read-image-file.js';
import { buildQdqAlexNetOnnx } from './build-qdq-alexnet.js';
import { calibrateActivations } from './calibrate-activations.js';
import type { CalibrationSet } from './calibration-set.js';
import { readAlexNetOnnx } from './read-alexnet-onnx.js';

/** How `model quantize` quantizes; recorded in every model it writes (bump the `/n` when the output changes). */
export const QUANTIZATION_METHOD =
  "qdq-static/2: int8 per-channel symmetric weights and int32 biases corrected for the weights' rounding (Conv, Gemm), uint8 per-tensor activations from min-max calibration";

/** 61.1 M float32 parameters are 244.4 MB; a model file beyond this is not an fp32 AlexNet and is not read into memory. */
const MAX_FP32_ALEXNET_BYTES = 320 * 1024 * 1024;

/** Options of {@link quantizeAlexNet}. */
export interface QuantizeAlexNetOptions {
  /** The fp32 AlexNet to quantize. */
  readonly modelPath: string;
  /** Where the int8 model is written (atomically; nothing is written on failure). */
  readonly outPath: string;
  readonly calibration: CalibrationSet;
  /** The model's identity when the caller has read it already (`readModelFile` hashes all 244 MB). */
  readonly source?: ModelIdentity;
  /** CPU threads for the calibration runs. Default: all cores. */
  readonly threads?: number;
  readonly logger?: Logger;
}

/** What {@link quantizeAlexNet} made. */
export interface QuantizationReport {
  readonly outPath: string;
  readonly source: ModelIdentity;
  readonly provenance: QuantizationProvenance;
  /** Calibration files that could not be decoded, and why (they were left out). */
  readonly skipped: readonly { file: string; reason: string }[];
  readonly sourceBytes: number;
  readonly outBytes: number;
}

/**
 * Static int8 quantization of an fp32 AlexNet, in TypeScript: read and check the model, run the
 * calibration images through it for activation ranges, and write the QDQ graph (see
 * `buildQdqAlexNetOnnx`) with the source's weights label and the quantization's provenance.
 */
export async function quantizeAlexNet(options: QuantizeAlexNetOptions): Promise<QuantizationReport> {
  const logger = options.logger ?? silentLogger;
  // The size first: readModelFile would hash the whole file. A file that cannot be stat'ed is left
  // to readModelFile, whose error says so (MODEL_NOT_FOUND).
  const { size } = await stat(options.modelPath).catch(() => ({ size: 0 }));
  if (size > MAX_FP32_ALEXNET_BYTES)
    throw new ModelError(
      'MODEL_NOT_ALEXNET',
      `${options.modelPath} has ${size} bytes, more than an fp32 AlexNet (about 244 MB) can: it is not read`,
      { context: { path: options.modelPath, bytes: size } },
    );
  const source = options.source ?? (await readModelFile(options.modelPath)).identity;
  if (source.precision === 'int8')
    throw new ModelError(
      'MODEL_ALREADY_QUANTIZED',
      `${options.modelPath} is already an int8 model (quantized from ${source.quantization?.sourceSha256 ?? 'an unrecorded model'}): quantize its fp32 original`,
      { context: { path: options.modelPath } },
    );
  const { parameters } = readAlexNetOnnx(await readFile(options.modelPath), options.modelPath);
  const skipped: { file: string; reason: string }[] = [...options.calibration.skipped];
  const decoded = async function* () {
    for (const file of options.calibration.files) {
      try {
        // Within the limit whatever the file became since the set was read: a calibration file
        // never costs more memory than an image may.
        yield (await decodeImage(await readImageFile(file, DEFAULT_PREPROCESS_OPTIONS.maxBytes))).rgb;
      } catch (error) {
        skipped.push({ file, reason: describeError(error).message });
      }
    }
  };
  logger.info({ images: options.calibration.files.length, folder: options.calibration.folder }, 'calibrating');
  const { statistics, imageCount } = await calibrateActivations(parameters, decoded(), { threads: options.threads });
  if (imageCount === 0)
    throw new ModelError(
      'CALIBRATION_EMPTY',
      `none of the ${options.calibration.files.length + options.calibration.skipped.length} calibration images in ${options.calibration.folder} could be decoded (${skipped[0]?.reason ?? 'no images'})`,
      { context: { folder: options.calibration.folder } },
    );
  const provenance: QuantizationProvenance = {
    method: QUANTIZATION_METHOD,
    sourceSha256: source.sha256,
    calibrationSha256: options.calibration.sha256,
    calibrationImages: imageCount,
  };
  const bytes = buildQdqAlexNetOnnx(parameters, statistics, {
    weights: source.weights,
    pretrained: source.pretrained,
    docString: `AlexNet quantized to int8 by alexnet-pipeline from the fp32 model with SHA-256 ${source.sha256}`,
    metadata: { [PRECISION_METADATA_KEY]: 'int8', [QUANTIZATION_METADATA_KEY]: JSON.stringify(provenance) },
  });
  await writeOnnxAtomically(options.outPath, bytes);
  return {
    outPath: options.outPath,
    source,
    provenance,
    skipped,
    sourceBytes: size,
    outBytes: bytes.length,
  };
}
