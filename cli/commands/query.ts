import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { RESULT_COLUMNS, RESULTS_TABLE } from '../../pipeline/results-table.js';
import { explainAwsError } from '../target/aws-errors.js';
import { CliError } from '../support/cli-error.js';
import { integerInRange } from '../support/option-parsers.js';
import { formatQueryTable } from '../query/query-output.js';
import { QUERY_FORMATS, QueryFailedError, type QueryTable } from '../query/query-table.js';
import { UNTRAINED_NOTICE } from '../results/result-format.js';
import { addTargetOptions, resolveTarget } from '../target/target.js';
import { DEFAULT_TIMEOUT_SECONDS, ENGINES, queryAthena, queryDuckDb, type QueryOptions } from '../query/run-query.js';

/** `query "<SQL>"`: SQL over the table `results`, with DuckDB on this machine or Athena on AWS. */
export function queryCommand(logger: Logger): Command {
  const command = new Command('query')
    .description(
      `SQL over the table ${RESULTS_TABLE} (one row per stored result): DuckDB on this machine, Athena for a deployed stack`,
    )
    .argument(
      '<sql>',
      `a query over ${RESULTS_TABLE}, e.g. "SELECT top_label, count(*) AS n FROM results GROUP BY 1 ORDER BY n DESC"`,
    )
    .addOption(new Option('--format <format>', 'output format').choices(QUERY_FORMATS).default('table'))
    .addOption(
      new Option(
        '--engine <engine>',
        'duckdb loads the results here (cached by ETag); athena runs in the stack (default: athena for a deployed stack, duckdb otherwise)',
      ).choices(ENGINES),
    )
    .addOption(new Option('--prefix <folder>', 'duckdb: only the results of the images below this folder (e.g. cats/)'))
    .addOption(
      new Option(
        '--timeout <seconds>',
        `stop the query after this long (default: ${DEFAULT_TIMEOUT_SECONDS.duckdb} s with duckdb, ${DEFAULT_TIMEOUT_SECONDS.athena} s with athena)`,
      ).argParser(integerInRange(1, 86_400)),
    )
    .addHelpText(
      'after',
      `\nColumns of ${RESULTS_TABLE}: ${RESULT_COLUMNS.map((column) => `${column.name} ${column.duckdbType}`).join(', ')}`,
    );
  addTargetOptions(command).action(async (sql: string, options: QueryOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const engine = options.engine ?? (target.kind === 'aws' && target.athena ? 'athena' : 'duckdb');
    let answer: { table: QueryTable; untrained: boolean };
    try {
      answer =
        engine === 'athena' ? await queryAthena(sql, target, options) : await queryDuckDb(sql, target, options, logger);
    } catch (error) {
      if (error instanceof QueryFailedError)
        throw new CliError(`${error.engine === 'athena' ? 'Athena' : 'DuckDB'}: ${error.message}`, {
          code: 'QUERY_FAILED',
        });
      if (error instanceof CliError) throw error;
      throw explainAwsError(error, { bucket: target.bucket, endpoint: target.endpoint, profile: target.profile });
    }
    const { table } = answer;
    process.stdout.write(`${formatQueryTable(table, options.format)}\n`);
    // Wherever labels show and the weights are untrained, say so (stdout stays pure: the notice goes to stderr).
    if (answer.untrained && table.rows.length > 0 && table.columns.some((column) => column.includes('label')))
      process.stderr.write(`${UNTRAINED_NOTICE}\n`);
    if (options.format === 'table' && table.rows.length === 0) process.stderr.write('no rows\n');
  });
  return command;
}
