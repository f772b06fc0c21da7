import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { resolveModelPath } from '../../model/index.js';
import { readCalibrationSet } from '../../model/quantize/calibration-set.js';
import { quantizeAlexNet, type QuantizationReport } from '../../model/quantize/quantize-alexnet.js';
import { CliError } from '../support/cli-error.js';

export interface QuantizeCommandOptions {
  model?: string;
  out: string;
  calibration?: string;
  offline?: boolean;
  threads?: number;
}

/**
 * `model quantize`: the fp32 model a run would use (or `--model`) quantized to int8 with the
 * calibration folder's images (default: the project's samples), written to `--out` — only when
 * every step succeeded. Returns the report and the seconds it took.
 */
export async function quantizeModel(
  options: QuantizeCommandOptions,
  logger: Logger,
): Promise<{ report: QuantizationReport; seconds: number }> {
  const started = performance.now();
  const calibration = await readCalibrationSet(options.calibration);
  const modelPath = options.model ?? (await resolveModelPath({ offline: options.offline, logger })).path;
  if (path.resolve(modelPath) === path.resolve(options.out))
    throw new CliError(`--out ${options.out} is the model being quantized: write the int8 model to another file`);
  const report = await quantizeAlexNet({
    modelPath,
    outPath: options.out,
    calibration,
    threads: options.threads,
    logger,
  });
  for (const skipped of report.skipped)
    logger.warn(
      { file: skipped.file, reason: skipped.reason },
      'calibration image left out: it cannot be read or decoded',
    );
  return { report, seconds: (performance.now() - started) / 1000 };
}

/** What `model quantize` prints. */
export function quantizationLines({ report, seconds }: { report: QuantizationReport; seconds: number }): string[] {
  const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
  const { source, provenance } = report;
  const trust = source.pretrained
    ? 'pretrained'
    : 'UNTRAINED or not marked pretrained — labels are not real predictions';
  return [
    `wrote ${report.outPath}: int8 (QDQ), ${megabytes(report.outBytes)} from ${megabytes(report.sourceBytes)}, in ${seconds.toFixed(1)} s`,
    `  from      the fp32 model with SHA-256 ${provenance.sourceSha256} (weights ${source.weights}, ${trust})`,
    `  calibrated on ${provenance.calibrationImages} images (set SHA-256 ${provenance.calibrationSha256})${report.skipped.length ? `; ${report.skipped.length} left out (unreadable, too large or not decodable)` : ''}`,
    `  method    ${provenance.method}`,
    `  run it    --model ${report.outPath} (or --precision int8, which quantizes and caches on its own); npm run bench:int8 measures its agreement`,
  ];
}
