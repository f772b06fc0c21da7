import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { runDuckDbQuery } from '../../cli/query/duckdb-engine.js';
import { QueryFailedError } from '../../cli/query/query-table.js';
import { RESULT_COLUMNS, resultRowValues } from '../../pipeline/results-table.js';
import { resultDocument } from '../helpers/result-documents.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const rows = [
  resultRowValues(
    resultDocument(
      'uploads/cats/a.jpg',
      {
        labels: [
          ['tabby', 0.91],
          ['tiger cat', 0.05],
        ],
      },
      '2026-11-28T10:00:00Z',
    ),
  ),
  resultRowValues(
    resultDocument(
      'uploads/cats/b.jpg',
      {
        labels: [
          ['tabby', 0.55],
          ['Egyptian cat', 0.3],
        ],
      },
      '2026-11-28T11:00:00Z',
    ),
  ),
  resultRowValues(resultDocument('uploads/dogs/c.jpg', { labels: [['beagle', 0.7]] }, '2026-11-28T12:00:00Z')),
  resultRowValues(
    resultDocument('uploads/bad/d.jpg', { code: 'CORRUPT_IMAGE', message: 'truncated' }, '2026-11-29T09:00:00Z'),
  ),
];

describe('query with DuckDB: the results table', () => {
  it('answers the questions users ask: filters on label and score, counts by label, errors since a time', async () => {
    const tabby = await runDuckDbQuery("SELECT key FROM results WHERE top_label = 'tabby' AND top_score > 0.8", rows);
    assert.deepEqual(tabby.rows, [{ key: 'uploads/cats/a.jpg' }]);
    const counts = await runDuckDbQuery(
      "SELECT top_label, count(*) AS n FROM results WHERE status = 'ok' GROUP BY 1 ORDER BY n DESC, top_label",
      rows,
    );
    assert.deepEqual(counts.columns, ['top_label', 'n']);
    assert.deepEqual(counts.rows, [
      { top_label: 'tabby', n: 2 },
      { top_label: 'beagle', n: 1 },
    ]);
    const errors = await runDuckDbQuery(
      "SELECT key, error_code, error_message FROM results WHERE status = 'error' AND processed_at > TIMESTAMPTZ '2026-11-29 00:00:00+00'",
      rows,
    );
    assert.deepEqual(errors.rows, [
      { key: 'uploads/bad/d.jpg', error_code: 'CORRUPT_IMAGE', error_message: 'truncated' },
    ]);
  });

  it('has every column with its declared type, labels as a list of structs', async () => {
    const described = await runDuckDbQuery('DESCRIBE results', rows);
    assert.deepEqual(
      described.rows.map((row) => [row.column_name, row.column_type]),
      RESULT_COLUMNS.map((column) => [column.name, column.duckdbType]),
    );
    const second = await runDuckDbQuery(
      "SELECT labels[2].label AS second, len(labels) AS k FROM results WHERE key = 'uploads/cats/b.jpg'",
      rows,
    );
    assert.deepEqual(second.rows, [{ second: 'Egyptian cat', k: 2 }]);
    const unnested = await runDuckDbQuery(
      "SELECT count(*) AS n FROM (SELECT unnest(labels) AS l FROM results) WHERE l.label LIKE '%cat%'",
      rows,
    );
    assert.deepEqual(unnested.rows, [{ n: 2 }]);
  });

  describe('refuses what reads or writes outside the loaded table', () => {
    let folder: string;
    before(async () => {
      folder = temporaryFolder('alexnet-duckdb-');
      await writeFile(path.join(folder, 'secret.csv'), 'a,b\n1,2\n');
    });
    const refused = async (sql: string) => {
      await assert.rejects(runDuckDbQuery(sql, rows), (error: unknown) => {
        assert.ok(error instanceof QueryFailedError, String(error));
        assert.doesNotMatch(error.message, /\n/, 'one line');
        return true;
      });
    };
    it('COPY … TO a file', async () => {
      const target = path.join(folder, 'out.csv');
      await refused(`COPY results TO '${target}'`);
      assert.equal(existsSync(target), false);
    });
    it("read_csv('/etc/…') and other file readers", async () => {
      await refused(`SELECT * FROM read_csv('${path.join(folder, 'secret.csv')}')`);
      await refused("SELECT * FROM read_text('/etc/passwd')");
      await refused(`SELECT * FROM '${path.join(folder, 'secret.csv')}'`);
    });
    it('ATTACH, INSTALL, LOAD', async () => {
      await refused(`ATTACH '${path.join(folder, 'other.db')}' AS other`);
      assert.equal(existsSync(path.join(folder, 'other.db')), false);
      await refused('INSTALL httpfs');
      await refused('LOAD httpfs');
    });
    it('switching access back on', async () => {
      await refused('SET enable_external_access = true');
      await refused('RESET lock_configuration');
    });
  });

  it('reports invalid SQL as one line from DuckDB', async () => {
    await assert.rejects(runDuckDbQuery('SELEC key FROM results', rows), (error: unknown) => {
      assert.ok(error instanceof QueryFailedError);
      assert.match(error.message, /^Parser Error: syntax error at or near "SELEC"/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    await assert.rejects(
      runDuckDbQuery('SELECT nope FROM results', rows),
      /Binder Error: Referenced column "nope" not found/,
    );
  });

  it("keeps DuckDB's hint in that line: the column or table it meant, not the echo of the statement", async () => {
    const misspelt = async (sql: string, hint: RegExp) =>
      assert.rejects(runDuckDbQuery(sql, rows), (error: unknown) => {
        assert.ok(error instanceof QueryFailedError);
        assert.match(error.message, hint);
        assert.doesNotMatch(error.message, /\n|LINE 1:/);
        return true;
      });
    await misspelt(
      'SELECT top_lable FROM results',
      /^Binder Error: Referenced column "top_lable" not found in FROM clause! Candidate bindings: "top_label"/,
    );
    await misspelt(
      'SELECT * FROM result',
      /^Catalog Error: Table with name result does not exist! Did you mean "results"\?$/,
    );
  });
});
