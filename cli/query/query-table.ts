import { PipelineError } from '../../common/errors.js';
/** A query's answer, whichever engine ran it: column names in order, and rows of plain JSON values. */
export interface QueryTable {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

/** Output formats of `query`. */
export const QUERY_FORMATS = ['table', 'json', 'csv'] as const;
export type QueryFormat = (typeof QUERY_FORMATS)[number];

/** Tells an engine's failure (bad SQL, a refused statement, a scan limit) from ours: its one-line message is shown as is. */
export class QueryFailedError extends PipelineError {
  constructor(
    readonly engine: 'duckdb' | 'athena',
    message: string,
  ) {
    super('QUERY_FAILED', message);
  }
}
