import { describeError } from '../common/errors.js';
import type { ModelIdentity } from './model-file.js';
import type { LabelScore } from './postprocess.js';

/** Version of the result object's shape; bump it when a field changes meaning or goes away. */
export const RESULT_SCHEMA_VERSION = 1;

/** What one image became: labels, or an error with a stable code. */
export type ClassificationOutcome =
  | { readonly status: 'ok'; readonly labels: readonly LabelScore[] }
  | { readonly status: 'error'; readonly error: { readonly code: string; readonly message: string } };

/** The result object shared by `classify` output lines and the worker's result JSON. */
export type ClassificationResult = { readonly schemaVersion: number; readonly model: ModelIdentity } & ClassificationOutcome;

/** An error outcome from anything thrown. */
export function errorOutcome(error: unknown): ClassificationOutcome {
  return { status: 'error', error: describeError(error) };
}
