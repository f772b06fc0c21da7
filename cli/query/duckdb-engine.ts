import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LABEL_STRUCT_DUCKDB, RESULT_COLUMNS, RESULTS_TABLE } from '../../pipeline/results-table.js';
import { DUCKDB_DEFAULT_TIMEOUT_MS, DUCKDB_MEMORY_LIMIT } from './duckdb-limits.js';
import { QueryFailedError, type QueryTable } from './query-table.js';

/** Staging types: what the appender writes; the table proper is cast from them. */
const STAGING_TYPE: Record<string, string> = {
  VARCHAR: 'VARCHAR',
  DOUBLE: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  INTEGER: 'INTEGER',
  BIGINT: 'BIGINT',
  'TIMESTAMP WITH TIME ZONE': 'VARCHAR',
  [LABEL_STRUCT_DUCKDB]: 'VARCHAR',
};

/** Bounds of one query (`query --timeout`, and a memory limit suited to a command on a laptop). */
export interface DuckDbQueryLimits {
  /** Stop the query after this long. Default: {@link DUCKDB_DEFAULT_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** DuckDB's memory_limit. Default: {@link DUCKDB_MEMORY_LIMIT}. */
  readonly memoryLimit?: string;
}

/**
 * Runs `sql` — one statement — over the table `results` holding `rows`, in an in-memory DuckDB that
 * can touch nothing else: the rows go in through the appender, then external access (files,
 * network, ATTACH, COPY, INSTALL/LOAD) is switched off, the memory limit set and the configuration
 * locked, before the user's SQL runs; a query that outlasts the timeout is interrupted. A failing
 * statement is a {@link QueryFailedError} with DuckDB's message in one line.
 */
export async function runDuckDbQuery(
  sql: string,
  rows: readonly Record<string, unknown>[],
  limits: DuckDbQueryLimits = {},
): Promise<QueryTable> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    allow_community_extensions: 'false',
  });
  const connection = await instance.connect();
  try {
    await loadRows(connection, rows);
    await connection.run(`SET memory_limit = '${limits.memoryLimit ?? DUCKDB_MEMORY_LIMIT}'`);
    // No spilling to a temporary folder: over the limit, a query fails rather than fill a disk.
    await connection.run("SET temp_directory = ''");
    await connection.run('SET enable_external_access = false');
    await connection.run('SET lock_configuration = true');
    const timeoutMs = limits.timeoutMs ?? DUCKDB_DEFAULT_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      connection.interrupt();
    }, timeoutMs);
    let reader;
    try {
      // DuckDB's client fails without a message on text with no statement (blanks, `;`, comments).
      const statements = await connection.extractStatements(sql).catch((error: Error) => {
        if (error.message === 'Error in native callback')
          throw new QueryFailedError('duckdb', 'the query holds no SQL statement');
        throw error;
      });
      if (statements.count === 0) throw new QueryFailedError('duckdb', 'the query holds no SQL statement');
      if (statements.count > 1)
        throw new QueryFailedError(
          'duckdb',
          `query runs one SQL statement; this has ${statements.count} (separated by ;): run them one at a time`,
        );
      reader = await (await statements.prepare(0)).runAndReadAll();
    } catch (error) {
      if (error instanceof QueryFailedError) throw error;
      if (timedOut)
        throw new QueryFailedError(
          'duckdb',
          `the query ran longer than ${timeoutMs / 1000} s and was stopped (raise --timeout to give it longer)`,
        );
      throw new QueryFailedError('duckdb', oneLineMessage((error as Error).message));
    } finally {
      clearTimeout(timer);
    }
    return {
      columns: reader.columnNames(),
      rows: withSafeIntegers(
        reader.getRowObjectsJson() as Record<string, unknown>[],
        reader.columnNames(),
        reader.columnTypes().map(String),
      ),
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function loadRows(connection: DuckDBConnection, rows: readonly Record<string, unknown>[]): Promise<void> {
  const quoted = (name: string) => `"${name}"`;
  await connection.run(
    `CREATE TABLE staging (${RESULT_COLUMNS.map((column) => `${quoted(column.name)} ${STAGING_TYPE[column.duckdbType]}`).join(', ')})`,
  );
  const appender = await connection.createAppender('staging');
  for (const row of rows) {
    for (const column of RESULT_COLUMNS) {
      const value = row[column.name];
      const staging = STAGING_TYPE[column.duckdbType];
      if (value === null || value === undefined) appender.appendNull();
      else if (column.duckdbType === LABEL_STRUCT_DUCKDB) appender.appendVarchar(JSON.stringify(value));
      else if (staging === 'DOUBLE') appender.appendDouble(Number(value));
      else if (staging === 'BOOLEAN') appender.appendBoolean(Boolean(value));
      else if (staging === 'INTEGER') appender.appendInteger(Number(value));
      else if (staging === 'BIGINT') appender.appendBigInt(BigInt(Math.trunc(Number(value))));
      else appender.appendVarchar(String(value));
    }
    appender.endRow();
  }
  appender.flushSync();
  appender.closeSync();
  const labelJsonType = JSON.stringify([{ index: 'INTEGER', label: 'VARCHAR', score: 'DOUBLE' }]);
  const selectList = RESULT_COLUMNS.map((column) => {
    if (column.duckdbType === LABEL_STRUCT_DUCKDB)
      return `from_json(${quoted(column.name)}, '${labelJsonType}') AS ${quoted(column.name)}`;
    // The result schema lets only ISO 8601 timestamps through, which TIMESTAMPTZ reads.
    if (column.duckdbType === 'TIMESTAMP WITH TIME ZONE')
      return `CAST(${quoted(column.name)} AS TIMESTAMPTZ) AS ${quoted(column.name)}`;
    return quoted(column.name);
  }).join(', ');
  await connection.run(`CREATE TABLE ${RESULTS_TABLE} AS SELECT ${selectList} FROM staging`);
  await connection.run('DROP TABLE staging');
}

/** The longest message `query` prints, in characters: a long list of candidate functions is cut. */
const MAX_MESSAGE_LENGTH = 400;

/**
 * DuckDB's message in one line, hint included (`Candidate bindings: "top_label"`, `Did you mean
 * "results"?`): its lines joined, without the echo of the statement and the caret below it
 * (`LINE 1: …`), which only repeats what the user typed.
 */
export function oneLineMessage(message: string): string {
  const [explanation = ''] = message.replace(/^Failed to extract statements: /, '').split(/\n\s*LINE \d+:/);
  const joined = explanation
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(' ');
  return joined.length > MAX_MESSAGE_LENGTH ? `${joined.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : joined;
}

/** Integer types DuckDB's JSON rows give as strings (they may exceed 2^53). */
const WIDE_INTEGER_TYPES = new Set(['BIGINT', 'UBIGINT', 'HUGEINT', 'UHUGEINT']);

/** Counts and sums (BIGINT, HUGEINT) as JSON numbers where they fit exactly; larger ones stay strings. */
function withSafeIntegers(
  rows: Record<string, unknown>[],
  columns: readonly string[],
  types: readonly string[],
): Record<string, unknown>[] {
  const wide = columns.filter((_, i) => WIDE_INTEGER_TYPES.has(types[i]!));
  if (wide.length === 0) return rows;
  for (const row of rows) {
    for (const column of wide) {
      const value = row[column];
      if (typeof value === 'string' && Number.isSafeInteger(Number(value))) row[column] = Number(value);
    }
  }
  return rows;
}
