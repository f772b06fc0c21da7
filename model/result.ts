import { describeError } from '../common/errors.js';
import type { LabelScore } from './postprocess.js';

/** What one image became: labels, or an error with a stable code. */
export type ClassificationOutcome =
  | { readonly status: 'ok'; readonly labels: readonly LabelScore[] }
  | { readonly status: 'error'; readonly error: { readonly code: string; readonly message: string } };

/** An error outcome from anything thrown. */
export function errorOutcome(error: unknown): ClassificationOutcome {
  return { status: 'error', error: describeError(error) };
}
