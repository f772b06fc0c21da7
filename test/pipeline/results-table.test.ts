import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { resultDocumentSchema } from '../../pipeline/result-schema.js';
import {
  athenaResultsSelect,
  RAW_RESULT_COLUMNS,
  RESULT_COLUMNS,
  resultRowValues,
} from '../../pipeline/results-table.js';
import { resultDocument } from '../helpers/result-documents.js';

/** The schema at a dotted path (`labels[0].label`) in either variant of the result schema, or undefined. */
function schemaAt(path: string): z.ZodType | undefined {
  for (const variant of resultDocumentSchema.options) {
    let current: any = variant;
    for (const part of path.split('.')) {
      const [, name, index] = /^([^[]+)(\[\d+\])?$/.exec(part)!;
      while (current?.unwrap && !current.shape) current = current.unwrap();
      current = current?.shape?.[name!];
      if (index) current = current?.element;
    }
    if (current) return current;
  }
  return undefined;
}

/** Field names of a Hive struct type, `struct<a:int,b:string>` → [a, b] (top level only). */
function structFields(type: string): string[] {
  const inner = /^(?:array<)?struct<(.*)>>?$/.exec(type)?.[1];
  return inner ? inner.split(',').map((field) => field.split(':')[0]!) : [];
}

describe('the results table: one column definition, checked against the result schema', () => {
  it('takes every column from a field the result document schema has', () => {
    for (const column of RESULT_COLUMNS)
      assert.ok(schemaAt(column.source), `${column.name} comes from ${column.source}, which the result schema lacks`);
  });

  it('has the columns the issue names, in order', () => {
    assert.deepEqual(
      RESULT_COLUMNS.map((column) => column.name),
      [
        'key',
        'bucket',
        'status',
        'top_label',
        'top_score',
        'labels',
        'error_code',
        'error_message',
        'model_sha256',
        'weights',
        'pretrained',
        'precision',
        'device',
        'processed_at',
        'batch_size',
        'etag',
        'size',
      ],
    );
  });

  it('builds the Glue table from fields of the schema (struct fields too, matched case-insensitively as the JSON SerDe does)', () => {
    for (const raw of RAW_RESULT_COLUMNS) {
      assert.ok(schemaAt(raw.source), `Glue column ${raw.name} reads ${raw.source}, which the result schema lacks`);
      assert.equal(raw.name, raw.source.toLowerCase());
      for (const field of structFields(raw.type)) {
        const element = raw.type.startsWith('array<') ? `${raw.source}[0]` : raw.source;
        const known = Object.keys(
          ((): any => {
            let node: any = schemaAt(element);
            while (node?.unwrap && !node.shape) node = node.unwrap();
            return node?.shape ?? {};
          })(),
        ).map((name) => name.toLowerCase());
        assert.ok(known.includes(field), `${raw.name}.${field} is not in the result schema`);
      }
    }
  });

  it('gives each column an Athena expression over a Glue column it reads', () => {
    const rawNames = RAW_RESULT_COLUMNS.map((raw) => raw.name);
    for (const column of RESULT_COLUMNS) {
      const top = column.source.split(/[.[]/)[0]!.toLowerCase();
      assert.ok(rawNames.includes(top), `${column.name}: ${top} is no Glue column`);
      assert.ok(column.athenaExpression.includes(top), `${column.name}'s Athena expression does not read ${top}`);
    }
    const select = athenaResultsSelect('db');
    for (const column of RESULT_COLUMNS) assert.ok(select.includes(`AS "${column.name}"`));
    assert.ok(select.endsWith('FROM "db"."result_objects"'));
  });

  it('turns ok and error documents into rows', () => {
    const ok = resultRowValues(
      resultDocument('uploads/cats/tabby.jpg', {
        labels: [
          ['tabby', 0.9],
          ['tiger cat', 0.05],
        ],
      }),
    );
    assert.equal(ok.key, 'uploads/cats/tabby.jpg');
    assert.equal(ok.top_label, 'tabby');
    assert.equal(ok.top_score, 0.9);
    assert.equal(ok.error_code, null);
    assert.equal(ok.batch_size, 8);
    const error = resultRowValues(resultDocument('uploads/bad.jpg', { code: 'CORRUPT_IMAGE' }));
    assert.equal(error.status, 'error');
    assert.equal(error.top_label, null);
    assert.equal(error.labels, null);
    assert.equal(error.error_code, 'CORRUPT_IMAGE');
  });
});
