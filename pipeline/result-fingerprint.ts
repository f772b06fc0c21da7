import { createHash } from 'node:crypto';
import { PREPROCESSING_VERSION } from '../model/constants.js';
import { RESULT_SCHEMA_VERSION } from './result-document.js';

/** Everything that changes what a result says about the same image bytes. */
export interface ResultFingerprintInputs {
  readonly modelSha256: string;
  readonly topK: number;
  readonly maxImageBytes: number;
  readonly maxImagePixels: number;
}

/**
 * A fingerprint of the settings a result was computed with: the model, top-k, the input limits,
 * the preprocessing version and the result schema. A stored result is reused for a redelivered
 * event only when its source ETag and this fingerprint both match, so a changed setting is never
 * hidden behind an old result.
 */
export function resultFingerprint(inputs: ResultFingerprintInputs): string {
  const canonical = JSON.stringify([
    ['model', inputs.modelSha256],
    ['topK', inputs.topK],
    ['maxImageBytes', inputs.maxImageBytes],
    ['maxImagePixels', inputs.maxImagePixels],
    ['preprocessing', PREPROCESSING_VERSION],
    ['schema', RESULT_SCHEMA_VERSION],
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}
