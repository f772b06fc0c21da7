import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
  type GetQueryResultsCommandOutput,
  type QueryExecutionState,
  type StatementType,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { decodeValue, runAthenaQuery, withResultsTable } from '../../cli/query/athena-engine.js';
import { QueryFailedError } from '../../cli/query/query-table.js';

/**
 * The Athena path against aws-sdk-client-mock, with responses in the shapes of the Athena API
 * reference: StartQueryExecution → QueryExecutionId; GetQueryExecution → QueryExecution.Status
 * (State QUEUED | RUNNING | SUCCEEDED | FAILED | CANCELLED, StateChangeReason, AthenaError),
 * StatementType; GetQueryResults → ResultSet.Rows[].Data[].VarCharValue (absent for NULL),
 * ResultSetMetadata.ColumnInfo[] (Name, Type), NextToken — the first row of a SELECT's first page
 * holds the column names.
 */
const athena = new AthenaClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const mock = mockClient(athena);
const settings = { workGroup: 'AlexnetPipeline-results', database: 'alexnetpipeline_results' };
const noWait = { timeoutMs: 5_000, wait: async () => undefined };
const execution = (State: QueryExecutionState, extra: Record<string, unknown> = {}) => ({
  QueryExecution: { QueryExecutionId: 'q-1', StatementType: 'DML' as StatementType, Status: { State, ...extra } },
});
const columnInfo = [
  { Name: 'key', Type: 'varchar' },
  { Name: 'n', Type: 'bigint' },
  { Name: 'top_score', Type: 'double' },
  { Name: 'pretrained', Type: 'boolean' },
  { Name: 'processed_at', Type: 'timestamp with time zone' },
  { Name: 'labels', Type: 'array' },
];
const row = (...values: Array<string | undefined>) => ({
  Data: values.map((value) => (value === undefined ? {} : { VarCharValue: value })),
});

describe('query with Athena', () => {
  afterEach(() => mock.reset());

  it('starts the query in the workgroup with the results table defined, polls, and reads every page, header row once', async () => {
    mock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    mock
      .on(GetQueryExecutionCommand)
      .resolvesOnce(execution('QUEUED'))
      .resolvesOnce(execution('RUNNING'))
      .resolves(execution('SUCCEEDED'));
    const pages: Partial<GetQueryResultsCommandOutput>[] = [
      {
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: columnInfo },
          Rows: [
            row('key', 'n', 'top_score', 'pretrained', 'processed_at', 'labels'),
            row(
              'uploads/a.jpg',
              '3',
              '0.91',
              'true',
              '2026-11-28 10:00:00.000 UTC',
              '[{index=281, label=tabby, score=0.91}]',
            ),
          ],
        },
        NextToken: 'page-2',
      },
      {
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: columnInfo },
          Rows: [row('uploads/b.jpg', '9007199254740993', undefined, 'false', undefined, undefined)],
        },
      },
    ];
    mock.on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined }).resolves(pages[0]!);
    mock.on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 'page-2' }).resolves(pages[1]!);

    const table = await runAthenaQuery(athena, "SELECT key FROM results WHERE top_label = 'tabby'", settings, noWait);
    const start = mock.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input;
    assert.equal(start.WorkGroup, settings.workGroup);
    assert.deepEqual(start.QueryExecutionContext, { Database: settings.database });
    assert.match(
      start.QueryString!,
      /^WITH results AS \(SELECT source\.key AS "key", source\.bucket AS "bucket", status AS "status", .* FROM "alexnetpipeline_results"\."result_objects"\)\nSELECT key FROM results WHERE top_label = 'tabby'$/s,
    );
    assert.equal(mock.commandCalls(GetQueryExecutionCommand).length, 3);
    assert.deepEqual(table.columns, ['key', 'n', 'top_score', 'pretrained', 'processed_at', 'labels']);
    assert.deepEqual(table.rows, [
      {
        key: 'uploads/a.jpg',
        n: 3,
        top_score: 0.91,
        pretrained: true,
        processed_at: '2026-11-28 10:00:00.000 UTC',
        labels: '[{index=281, label=tabby, score=0.91}]',
      },
      {
        key: 'uploads/b.jpg',
        n: '9007199254740993',
        top_score: null,
        pretrained: false,
        processed_at: null,
        labels: null,
      },
    ]);
  });

  it("puts the results table before a query's own WITH", () => {
    const sql = withResultsTable('with cats as (select * from results) select count(*) from cats', 'db');
    assert.match(
      sql,
      /^WITH results AS \(SELECT .* FROM "db"\."result_objects"\), cats as \(select \* from results\) select count\(\*\) from cats$/s,
    );
  });

  it("a failed query's message, with its id", async () => {
    mock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    mock.on(GetQueryExecutionCommand).resolves(
      execution('FAILED', {
        StateChangeReason: "COLUMN_NOT_FOUND: line 2:8: Column 'nope' cannot be resolved",
        AthenaError: {
          ErrorCategory: 2,
          ErrorType: 1006,
          Retryable: false,
          ErrorMessage: "COLUMN_NOT_FOUND: line 2:8: Column 'nope' cannot be resolved",
        },
      }),
    );
    await assert.rejects(runAthenaQuery(athena, 'SELECT nope FROM results', settings, noWait), (error: unknown) => {
      assert.ok(error instanceof QueryFailedError);
      assert.equal(error.message, "COLUMN_NOT_FOUND: line 2:8: Column 'nope' cannot be resolved (query q-1)");
      return true;
    });
  });

  it('the scan limit: the cancelled query says why', async () => {
    mock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    mock
      .on(GetQueryExecutionCommand)
      .resolves(execution('CANCELLED', { StateChangeReason: 'Query cancelled! : Bytes scanned limit was exceeded' }));
    await assert.rejects(
      runAthenaQuery(athena, 'SELECT * FROM results', settings, noWait),
      /^QueryFailedError: Query cancelled! : Bytes scanned limit was exceeded \(query q-1\)$/,
    );
  });

  it('stops a query that outlasts the timeout', async () => {
    mock.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    mock.on(GetQueryExecutionCommand).resolves(execution('RUNNING'));
    mock.on(StopQueryExecutionCommand).resolves({});
    await assert.rejects(
      runAthenaQuery(athena, 'SELECT 1', settings, { timeoutMs: 0, wait: async () => undefined }),
      /did not finish within 0 s and was stopped/,
    );
    assert.deepEqual(mock.commandCalls(StopQueryExecutionCommand)[0]!.args[0].input, { QueryExecutionId: 'q-1' });
  });

  it('decodes the types Athena returns as text', () => {
    assert.equal(decodeValue('12', 'integer'), 12);
    assert.equal(decodeValue('0.5', 'double'), 0.5);
    assert.equal(decodeValue('NaN', 'double'), 'NaN');
    assert.equal(decodeValue('true', 'boolean'), true);
    assert.equal(decodeValue('12.50', 'decimal'), '12.50');
    assert.equal(decodeValue(undefined, 'varchar'), null);
    assert.equal(decodeValue('', 'varchar'), '');
  });
});
