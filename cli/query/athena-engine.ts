import { setTimeout as sleep } from 'node:timers/promises';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type ColumnInfo,
  type Row,
} from '@aws-sdk/client-athena';
import { sharedClientConfig } from '../../common/aws-clients.js';
import { athenaResultsSelect, RESULTS_TABLE } from '../../pipeline/results-table.js';
import { QueryFailedError, type QueryTable } from './query-table.js';

/** An Athena client for the user's credentials and region (the standard chain, `--region`, `--profile`). */
export function createAthenaClient(options: { region?: string; profile?: string }): AthenaClient {
  return new AthenaClient(sharedClientConfig(options));
}

/** The stack's Athena resources (stack outputs). */
export interface AthenaSettings {
  readonly workGroup: string;
  readonly database: string;
}

export interface AthenaRunOptions {
  /** Give up (and stop the query) after this long. */
  readonly timeoutMs: number;
  /** Polling waits grow from this to 1 s. */
  readonly firstPollMs?: number;
  readonly wait?: (ms: number) => Promise<unknown>;
}

/**
 * `sql` with the `results` table defined as a WITH clause over the raw Glue table, so that users
 * write the same table name on both engines. A query with its own WITH gets ours first.
 */
export function withResultsTable(sql: string, database: string): string {
  const definition = `${RESULTS_TABLE} AS (${athenaResultsSelect(database)})`;
  const ownWith = /^\s*with\s+/i.exec(sql);
  return ownWith ? `WITH ${definition}, ${sql.slice(ownWith[0].length)}` : `WITH ${definition}\n${sql}`;
}

/**
 * Runs a query in the stack's workgroup (which holds the output location, its encryption and the
 * scan limit): start, poll until it ends, then read every page of its results. A failed or
 * cancelled query's reason (bad SQL, the scan limit) is a {@link QueryFailedError}.
 */
export async function runAthenaQuery(
  athena: AthenaClient,
  sql: string,
  settings: AthenaSettings,
  options: AthenaRunOptions,
): Promise<QueryTable> {
  const wait = options.wait ?? sleep;
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: withResultsTable(sql, settings.database),
      WorkGroup: settings.workGroup,
      QueryExecutionContext: { Database: settings.database },
    }),
  );
  const id = started.QueryExecutionId!;
  const deadline = Date.now() + options.timeoutMs;
  let pause = options.firstPollMs ?? 200;
  for (;;) {
    const { QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = execution?.Status?.State;
    if (state === 'SUCCEEDED') return readResults(athena, id, execution?.StatementType === 'DML');
    if (state === 'FAILED' || state === 'CANCELLED') {
      const reason =
        execution?.Status?.AthenaError?.ErrorMessage ??
        execution?.Status?.StateChangeReason ??
        `the query was ${state.toLowerCase()}`;
      throw new QueryFailedError('athena', `${reason} (query ${id})`);
    }
    if (Date.now() > deadline) {
      await athena.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
      throw new QueryFailedError(
        'athena',
        `the query did not finish within ${Math.round(options.timeoutMs / 1000)} s and was stopped (query ${id}); raise --timeout`,
      );
    }
    await wait(pause);
    pause = Math.min(1000, pause * 2);
  }
}

async function readResults(athena: AthenaClient, id: string, hasHeaderRow: boolean): Promise<QueryTable> {
  let columns: ColumnInfo[] = [];
  const rows: Record<string, unknown>[] = [];
  let token: string | undefined;
  let first = true;
  do {
    const page = await athena.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token }));
    if (first) columns = page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    const pageRows = page.ResultSet?.Rows ?? [];
    // A SELECT's first row on the first page repeats the column names.
    for (const row of first && hasHeaderRow ? pageRows.slice(1) : pageRows) rows.push(decodeRow(row, columns));
    first = false;
    token = page.NextToken;
  } while (token);
  return { columns: columns.map((column) => column.Name ?? ''), rows };
}

function decodeRow(row: Row, columns: readonly ColumnInfo[]): Record<string, unknown> {
  return Object.fromEntries(
    columns.map((column, i) => [
      column.Name ?? `_${i}`,
      decodeValue(row.Data?.[i]?.VarCharValue, column.Type ?? 'varchar'),
    ]),
  );
}

/**
 * Athena returns every value as text; this gives numbers and booleans their JSON type. Arrays,
 * rows, maps, decimals, dates and timestamps stay text as Athena writes them. A missing
 * `VarCharValue` is NULL.
 */
export function decodeValue(text: string | undefined, type: string): unknown {
  if (text === undefined) return null;
  switch (type.toLowerCase()) {
    case 'boolean':
      return text === 'true';
    case 'tinyint':
    case 'smallint':
    case 'integer':
    case 'int':
      return Number(text);
    case 'bigint': {
      const value = Number(text);
      return Number.isSafeInteger(value) ? value : text;
    }
    case 'double':
    case 'float':
    case 'real':
      return text === 'NaN' || text === 'Infinity' || text === '-Infinity' ? text : Number(text);
    default:
      return text;
  }
}
