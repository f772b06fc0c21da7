/**
 * The bounds of a DuckDB query, apart from the engine so that `query` can state them without
 * loading DuckDB.
 */

/** How long a DuckDB query may run unless `--timeout` says otherwise: a minute (a big local folder takes seconds). */
export const DUCKDB_DEFAULT_TIMEOUT_MS = 60_000;

/** DuckDB's own default is 80% of the machine's memory; a command beside a browser and an editor takes less. */
export const DUCKDB_MEMORY_LIMIT = '1GB';
