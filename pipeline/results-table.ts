import type { ResultDocument } from './result-document.js';

/**
 * The `results` table that `query` answers SQL over: one row per stored result. This is the one
 * definition of its columns — the DuckDB table on one machine and the Athena view over the Glue
 * table on AWS are both built from it, and a test checks each column's source against the result
 * document schema.
 */
export interface ResultColumn {
  readonly name: string;
  /** Its type in DuckDB. */
  readonly duckdbType: string;
  /** The field of the result document it comes from (dotted; `labels[0]` is the top label). */
  readonly source: string;
  /** Its value in a result document (DuckDB loads these). */
  readonly value: (document: ResultDocument) => unknown;
  /** The same value as an Athena (Trino) expression over the raw Glue table {@link RAW_RESULT_COLUMNS}. */
  readonly athenaExpression: string;
}

const top = (document: ResultDocument) => (document.status === 'ok' ? document.labels[0] : undefined);
const failure = (document: ResultDocument) => (document.status === 'error' ? document.error : undefined);

/** The `labels` column's type, as DuckDB spells it (DESCRIBE shows the same). */
export const LABEL_STRUCT_DUCKDB = 'STRUCT("index" INTEGER, "label" VARCHAR, score DOUBLE)[]';

export const RESULT_COLUMNS: readonly ResultColumn[] = [
  {
    name: 'key',
    duckdbType: 'VARCHAR',
    source: 'source.key',
    value: (d) => d.source.key,
    athenaExpression: 'source.key',
  },
  {
    // The image's bucket: the pipeline's, or a source bucket of a job (-c sourceBuckets).
    name: 'bucket',
    duckdbType: 'VARCHAR',
    source: 'source.bucket',
    value: (d) => d.source.bucket,
    athenaExpression: 'source.bucket',
  },
  { name: 'status', duckdbType: 'VARCHAR', source: 'status', value: (d) => d.status, athenaExpression: 'status' },
  {
    name: 'top_label',
    duckdbType: 'VARCHAR',
    source: 'labels[0].label',
    value: (d) => top(d)?.label ?? null,
    athenaExpression: 'element_at(labels, 1).label',
  },
  {
    name: 'top_score',
    duckdbType: 'DOUBLE',
    source: 'labels[0].score',
    value: (d) => top(d)?.score ?? null,
    athenaExpression: 'element_at(labels, 1).score',
  },
  {
    name: 'labels',
    duckdbType: LABEL_STRUCT_DUCKDB,
    source: 'labels',
    value: (d) => (d.status === 'ok' ? d.labels : null),
    athenaExpression: 'labels',
  },
  {
    name: 'error_code',
    duckdbType: 'VARCHAR',
    source: 'error.code',
    value: (d) => failure(d)?.code ?? null,
    athenaExpression: 'error.code',
  },
  {
    name: 'error_message',
    duckdbType: 'VARCHAR',
    source: 'error.message',
    value: (d) => failure(d)?.message ?? null,
    athenaExpression: 'error.message',
  },
  {
    name: 'model_sha256',
    duckdbType: 'VARCHAR',
    source: 'model.sha256',
    value: (d) => d.model.sha256,
    athenaExpression: 'model.sha256',
  },
  {
    name: 'weights',
    duckdbType: 'VARCHAR',
    source: 'model.weights',
    value: (d) => d.model.weights,
    athenaExpression: 'model.weights',
  },
  {
    name: 'pretrained',
    duckdbType: 'BOOLEAN',
    source: 'model.pretrained',
    value: (d) => d.model.pretrained,
    athenaExpression: 'model.pretrained',
  },
  {
    name: 'precision',
    duckdbType: 'VARCHAR',
    source: 'model.precision',
    value: (d) => d.model.precision,
    athenaExpression: "coalesce(model.precision, 'fp32')",
  },
  { name: 'device', duckdbType: 'VARCHAR', source: 'device', value: (d) => d.device, athenaExpression: 'device' },
  // ISO 8601 with Z: DuckDB's TIMESTAMPTZ and Athena's from_iso8601_timestamp both read it.
  {
    name: 'processed_at',
    duckdbType: 'TIMESTAMP WITH TIME ZONE',
    source: 'processedAt',
    value: (d) => d.processedAt,
    athenaExpression: 'from_iso8601_timestamp(processedat)',
  },
  {
    name: 'batch_size',
    duckdbType: 'INTEGER',
    source: 'timings.batchSize',
    value: (d) => d.timings.batchSize,
    athenaExpression: 'timings.batchsize',
  },
  {
    name: 'etag',
    duckdbType: 'VARCHAR',
    source: 'source.etag',
    value: (d) => d.source.etag,
    athenaExpression: 'source.etag',
  },
  {
    name: 'size',
    duckdbType: 'BIGINT',
    source: 'source.size',
    value: (d) => d.source.size,
    athenaExpression: 'source.size',
  },
];

/** The name of the table users query, in both engines. */
export const RESULTS_TABLE = 'results';

/**
 * The Glue table over the result objects as stored (JSON, one object per file): top-level fields
 * with Hive types. The OpenX JSON SerDe matches names case-insensitively, so `processedAt` is the
 * column `processedat`. `fingerprint` and the per-stage timings are left out: no column uses them.
 */
export const RAW_RESULT_COLUMNS: readonly { readonly name: string; readonly type: string; readonly source: string }[] =
  [
    { name: 'schemaversion', type: 'int', source: 'schemaVersion' },
    { name: 'status', type: 'string', source: 'status' },
    { name: 'labels', type: 'array<struct<index:int,label:string,score:double>>', source: 'labels' },
    { name: 'error', type: 'struct<code:string,message:string>', source: 'error' },
    { name: 'source', type: 'struct<bucket:string,key:string,etag:string,size:bigint>', source: 'source' },
    {
      name: 'model',
      type: 'struct<sha256:string,weights:string,pretrained:boolean,precision:string>',
      source: 'model',
    },
    { name: 'device', type: 'string', source: 'device' },
    { name: 'timings', type: 'struct<batchsize:int>', source: 'timings' },
    { name: 'processedat', type: 'string', source: 'processedAt' },
  ];

/** The raw Glue table's name; `query` on Athena wraps it as {@link RESULTS_TABLE}. */
export const RAW_RESULTS_TABLE = 'result_objects';

/** `SELECT <every column> FROM <raw table>`: the `results` table on Athena, as a WITH clause. */
export function athenaResultsSelect(database: string): string {
  const columns = RESULT_COLUMNS.map((column) => `${column.athenaExpression} AS "${column.name}"`).join(', ');
  return `SELECT ${columns} FROM "${database}"."${RAW_RESULTS_TABLE}"`;
}

/** A result document as a row: column name → value. */
export function resultRowValues(document: ResultDocument): Record<string, unknown> {
  return Object.fromEntries(RESULT_COLUMNS.map((column) => [column.name, column.value(document)]));
}
