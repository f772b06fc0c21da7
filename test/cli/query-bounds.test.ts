import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalPipeline } from '../helpers/local-pipeline.js';
import { resultDocument } from '../helpers/result-documents.js';
import { runCli } from '../helpers/run-cli.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

describe('query over results it cannot trust, and queries that would run away', () => {
  let pipeline: LocalPipeline;
  let env: Record<string, string>;
  before(async () => {
    pipeline = await LocalPipeline.start();
    env = {
      ...pipeline.aws.environment(),
      ALEXNET_LOCAL_STATE_FILE: '/nonexistent/state.json',
      ALEXNET_CACHE_DIR: path.join(temporaryFolder('alexnet-query-bounds-'), 'cache'),
    };
    const good = resultDocument('uploads/odd/good.jpg', { labels: [['tabby', 0.9]] });
    const stored: Record<string, unknown> = {
      'good.jpg': good,
      // Each passed the old schema, and each made every DuckDB query fail.
      'not-a-time.jpg': { ...good, source: { ...good.source, key: 'uploads/odd/not-a-time.jpg' }, processedAt: '<x>' },
      'huge-size.jpg': { ...good, source: { ...good.source, key: 'uploads/odd/huge-size.jpg', size: 1e300 } },
      'huge-batch.jpg': {
        ...good,
        source: { ...good.source, key: 'uploads/odd/huge-batch.jpg' },
        timings: { ...good.timings, batchSize: 1e12 },
      },
    };
    for (const [name, document] of Object.entries(stored))
      await pipeline.upload(`results/odd/${name}.json`, JSON.stringify(document));
  });
  after(() => pipeline?.stop());

  const query = (sql: string, ...options: string[]) => runCli(['query', sql, '--format', 'json', ...options], { env });

  it('makes each odd result one unreadable row, and every other query still works', async () => {
    const run = await query('SELECT key, status, error_message FROM results ORDER BY key');
    assert.equal(run.status, 0, run.stderr);
    const rows = JSON.parse(run.stdout) as Array<{ key: string; status: string; error_message: string | null }>;
    assert.deepEqual(
      rows.map((row) => [row.key, row.status]),
      [
        ['uploads/odd/good.jpg', 'ok'],
        ['uploads/odd/huge-batch.jpg', 'unreadable'],
        ['uploads/odd/huge-size.jpg', 'unreadable'],
        ['uploads/odd/not-a-time.jpg', 'unreadable'],
      ],
    );
    assert.match(rows[1]!.error_message!, /timings\.batchSize/);
    assert.match(rows[2]!.error_message!, /source\.size/);
    assert.match(rows[3]!.error_message!, /processedAt/);
    const sum = await query(
      'SELECT sum(size) AS bytes, max(batch_size) AS batch, max(processed_at) AS latest FROM results',
    );
    assert.equal(sum.status, 0, sum.stderr);
  });

  it('stops a query that outlasts --timeout, in one line', async () => {
    const started = Date.now();
    const run = await query('SELECT count(*) FROM range(1000000000000)', '--timeout', '2');
    assert.equal(run.status, 1);
    assert.match(
      run.stderr,
      /^error: DuckDB: the query ran longer than 2 s and was stopped \(raise --timeout to give it longer\)$/m,
    );
    assert.ok(Date.now() - started < 30_000, `ended after ${Date.now() - started} ms`);
  });

  it('refuses a query that needs more memory than a command should take, in one line', async () => {
    const run = await query('SELECT len(list(range)) FROM range(300000000)');
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: DuckDB: Out of Memory Error: /m);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('refuses several statements, and none, rather than answer one of them', async () => {
    const several = await query('SELECT 1; SELECT 2');
    assert.equal(several.status, 1);
    assert.match(
      several.stderr,
      /^error: DuckDB: query runs one SQL statement; this has 2 \(separated by ;\): run them one at a time$/m,
    );
    const none = await query('  ;  ');
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^error: DuckDB: the query holds no SQL statement$/m);
  });
});
