import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { resultsPrefixFor } from '../../pipeline/object-keys.js';
import { RESULT_COLUMNS, RESULTS_TABLE } from '../../pipeline/results-table.js';
import { explainAwsError } from '../aws-errors.js';
import { CliError, EXIT } from '../cli-error.js';
import { integerInRange } from '../option-parsers.js';
import { formatQueryTable } from '../query/query-output.js';
import { QUERY_FORMATS, QueryFailedError, type QueryFormat, type QueryTable } from '../query/query-table.js';
import { DUCKDB_DEFAULT_TIMEOUT_MS } from '../query/duckdb-limits.js';
import { loadResultRows } from '../query/result-loader.js';
import { UNTRAINED_NOTICE } from '../result-format.js';
import { addTargetOptions, resolveTarget, type Target, type TargetOptions } from '../target.js';
import { uploadKeyFromArgument } from './results.js';

const ENGINES = ['duckdb', 'athena'] as const;

interface QueryOptions extends TargetOptions {
  format: QueryFormat;
  engine?: (typeof ENGINES)[number];
  prefix?: string;
  timeout?: number;
}

/** `--timeout` when not given, by engine: a local query is quick or runaway; Athena scans S3. */
const DEFAULT_TIMEOUT_SECONDS = { duckdb: DUCKDB_DEFAULT_TIMEOUT_MS / 1000, athena: 600 } as const;

/** `query "<SQL>"`: SQL over the table `results`, with DuckDB on this machine or Athena on AWS. */
export function queryCommand(logger: Logger): Command {
  const command = new Command('query')
    .description(`SQL over the table ${RESULTS_TABLE} (one row per stored result): DuckDB on this machine, Athena for a deployed stack`)
    .argument('<sql>', `a query over ${RESULTS_TABLE}, e.g. "SELECT top_label, count(*) AS n FROM results GROUP BY 1 ORDER BY n DESC"`)
    .addOption(new Option('--format <format>', 'output format').choices(QUERY_FORMATS).default('table'))
    .addOption(new Option('--engine <engine>', 'duckdb loads the results here (cached by ETag); athena runs in the stack (default: athena for a deployed stack, duckdb otherwise)').choices(ENGINES))
    .addOption(new Option('--prefix <folder>', 'duckdb: only the results of the images below this folder (e.g. cats/)'))
    .addOption(new Option('--timeout <seconds>', `stop the query after this long (default: ${DEFAULT_TIMEOUT_SECONDS.duckdb} s with duckdb, ${DEFAULT_TIMEOUT_SECONDS.athena} s with athena)`).argParser(integerInRange(1, 86_400)))
    .addHelpText('after', `\nColumns of ${RESULTS_TABLE}: ${RESULT_COLUMNS.map((column) => `${column.name} ${column.duckdbType}`).join(', ')}`);
  addTargetOptions(command).action(async (sql: string, options: QueryOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const engine = options.engine ?? (target.kind === 'aws' && target.athena ? 'athena' : 'duckdb');
    let answer: { table: QueryTable; untrained: boolean };
    try {
      answer = engine === 'athena' ? await queryAthena(sql, target, options) : await queryDuckDb(sql, target, options, logger);
    } catch (error) {
      if (error instanceof QueryFailedError) throw new CliError(`${error.engine === 'athena' ? 'Athena' : 'DuckDB'}: ${error.message}`, { code: 'QUERY_FAILED' });
      if (error instanceof CliError) throw error;
      throw explainAwsError(error, { bucket: target.bucket, endpoint: target.endpoint, profile: target.profile });
    }
    const { table } = answer;
    process.stdout.write(`${formatQueryTable(table, options.format)}\n`);
    // Wherever labels show and the weights are untrained, say so (stdout stays pure: the notice goes to stderr).
    if (answer.untrained && table.rows.length > 0 && table.columns.some((column) => column.includes('label'))) process.stderr.write(`${UNTRAINED_NOTICE}\n`);
    if (options.format === 'table' && table.rows.length === 0) process.stderr.write('no rows\n');
  });
  return command;
}

async function queryDuckDb(sql: string, target: Target, options: QueryOptions, logger: Logger): Promise<{ table: QueryTable; untrained: boolean }> {
  const resultsPrefix = options.prefix === undefined ? target.layout.resultsPrefix : resultsPrefixFor(uploadKeyFromArgument(options.prefix, target), target.layout);
  // DuckDB loads (a quarter of a second here) while the results are listed and read.
  const engine = import('../query/duckdb-engine.js');
  const loaded = await loadResultRows(target, resultsPrefix);
  logger.debug({ rows: loaded.rows.length, downloaded: loaded.downloaded, fromCache: loaded.fromCache }, 'results loaded');
  if (loaded.rows.length === 0) throw new CliError(`no results below ${resultsPrefix} in ${target.bucket} yet: upload images first, or check --prefix`, { exitCode: EXIT.notReady });
  if (loaded.unreadable > 0) logger.warn({ unreadable: loaded.unreadable }, 'some objects below the results prefix are not result documents: they are rows with status unreadable');
  // Loaded only for a DuckDB query (and the Athena client only for an Athena one): start-up stays short.
  const { runDuckDbQuery } = await engine;
  return { table: await runDuckDbQuery(sql, loaded.rows, { timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS.duckdb) * 1000 }), untrained: loaded.rows.some((row) => row.pretrained === false) };
}

async function queryAthena(sql: string, target: Target, options: QueryOptions): Promise<{ table: QueryTable; untrained: boolean }> {
  if (!target.athena) {
    throw new CliError('--engine athena needs a deployed stack: its outputs file (cdk-outputs.json) names the Glue database and the Athena workgroup; for a local pipeline use --engine duckdb');
  }
  if (options.prefix !== undefined) throw new CliError('--prefix is for --engine duckdb; on Athena, filter in SQL (WHERE key LIKE \'uploads/cats/%\')');
  const { createAthenaClient, runAthenaQuery } = await import('../query/athena-engine.js');
  const table = await runAthenaQuery(createAthenaClient({ region: options.region, profile: options.profile }), sql, target.athena, { timeoutMs: (options.timeout ?? DEFAULT_TIMEOUT_SECONDS.athena) * 1000 });
  // A deployed stack's image is built with the pretrained weights; a result that says otherwise is shown as such.
  return { table, untrained: table.rows.some((row) => row.pretrained === false) };
}
