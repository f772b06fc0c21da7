import type { Logger } from '../../common/logger.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { type QueryFormat, type QueryTable } from './query-table.js';
import { DUCKDB_DEFAULT_TIMEOUT_MS } from './duckdb-limits.js';
import { loadResultRows } from './result-loader.js';
import { type Target, type TargetOptions } from '../target/target.js';
import { imageFromArgument, resultsFolderOf } from '../results/object-arguments.js';

export const ENGINES = ['duckdb', 'athena'] as const;

export interface QueryOptions extends TargetOptions {
  format: QueryFormat;
  engine?: (typeof ENGINES)[number];
  prefix?: string;
  timeout?: number;
}

/** `--timeout` when not given, by engine: a local query is quick or runaway; Athena scans S3. */
export const DEFAULT_TIMEOUT_SECONDS = { duckdb: DUCKDB_DEFAULT_TIMEOUT_MS / 1000, athena: 600 } as const;

export async function queryDuckDb(
  sql: string,
  target: Target,
  options: QueryOptions,
  logger: Logger,
): Promise<{ table: QueryTable; untrained: boolean }> {
  const resultsPrefix =
    options.prefix === undefined
      ? target.layout.resultsPrefix
      : resultsFolderOf(imageFromArgument(options.prefix, target), target);
  // DuckDB loads (a quarter of a second here) while the results are listed and read.
  const engine = import('../query/duckdb-engine.js');
  const loaded = await loadResultRows(target, resultsPrefix);
  logger.debug(
    { rows: loaded.rows.length, downloaded: loaded.downloaded, fromCache: loaded.fromCache },
    'results loaded',
  );
  if (loaded.rows.length === 0)
    throw new CliError(
      `no results below ${resultsPrefix} in ${target.bucket} yet: upload images first, or check --prefix`,
      { exitCode: EXIT.notReady },
    );
  if (loaded.unreadable > 0)
    logger.warn(
      { unreadable: loaded.unreadable },
      'some objects below the results prefix are not result documents: they are rows with status unreadable',
    );
  // Loaded only for a DuckDB query (and the Athena client only for an Athena one): start-up stays short.
  const { runDuckDbQuery } = await engine;
  return {
    table: await runDuckDbQuery(sql, loaded.rows, {
      timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS.duckdb) * 1000,
    }),
    untrained: loaded.rows.some((row) => row.pretrained === false),
  };
}

export async function queryAthena(
  sql: string,
  target: Target,
  options: QueryOptions,
): Promise<{ table: QueryTable; untrained: boolean }> {
  if (!target.athena) {
    throw new CliError(
      '--engine athena needs a deployed stack: its outputs file (cdk-outputs.json) names the Glue database and the Athena workgroup; for a local pipeline use --engine duckdb',
    );
  }
  if (options.prefix !== undefined)
    throw new CliError("--prefix is for --engine duckdb; on Athena, filter in SQL (WHERE key LIKE 'uploads/cats/%')");
  const { createAthenaClient, runAthenaQuery } = await import('../query/athena-engine.js');
  const table = await runAthenaQuery(
    createAthenaClient({ region: options.region, profile: options.profile }),
    sql,
    target.athena,
    { timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS.athena) * 1000 },
  );
  // A deployed stack's image is built with the pretrained weights; a result that says otherwise is shown as such.
  return { table, untrained: table.rows.some((row) => row.pretrained === false) };
}
