import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createS3Client } from '../common/aws-clients.js';
import { projectRoot } from '../common/paths.js';
import { startLocalServe } from '../local/local-serve-process.js';
import { buildResult } from '../pipeline/result-document.js';
import { DEFAULT_KEY_LAYOUT, resultKeyFor } from '../pipeline/object-keys.js';

/**
 * `npm run bench:query`: `alexnet-pipeline query` over RESULTS stored results in `local --serve`,
 * run as a user runs it (a new process each time), cold (empty cache: every result downloaded)
 * and then warm (every result from the cache). Prints wall-clock seconds of each run.
 */
const RESULTS = Number(process.env.BENCH_QUERY_RESULTS ?? 10_000);
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 3);
const LABELS = ['tabby', 'tiger cat', 'Egyptian cat', 'beagle', 'golden retriever', 'espresso', 'space shuttle'];
const SQL =
  'SELECT top_label, count(*) AS n, round(avg(top_score), 3) AS mean_score FROM results GROUP BY 1 ORDER BY n DESC';

function timedQuery(env: NodeJS.ProcessEnv): { seconds: number; stdout: string } {
  const started = performance.now();
  const run = spawnSync(
    process.execPath,
    [
      ...(process.env.BENCH_QUERY_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_QUERY_CPU_PROF}`] : []),
      path.join(projectRoot, 'dist', 'cli', 'main.js'),
      'query',
      '--local',
      SQL,
      '--format',
      'json',
    ],
    { env, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (run.status !== 0) throw new Error(`query failed: ${run.stderr}`);
  return { seconds: (performance.now() - started) / 1000, stdout: run.stdout };
}

const folder = await mkdtemp(path.join(tmpdir(), 'alexnet-query-bench-'));
const env = { ...process.env, ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json'), LOG_LEVEL: 'warn' };
const serve = await startLocalServe(['--no-worker'], env);
try {
  const e = serve.environment;
  const s3 = createS3Client({
    endpoint: e.AWS_ENDPOINT_URL!,
    region: e.AWS_REGION!,
    credentials: { accessKeyId: e.AWS_ACCESS_KEY_ID!, secretAccessKey: e.AWS_SECRET_ACCESS_KEY! },
  });
  const limit = pLimit(32);
  const putStarted = performance.now();
  await Promise.all(
    Array.from({ length: RESULTS }, (_, i) =>
      limit(async () => {
        const key = `${DEFAULT_KEY_LAYOUT.uploadsPrefix}bench/${String(i).padStart(5, '0')}.jpg`;
        const labels = [0, 1, 2, 3, 4].map((rank) => ({
          index: 281 + rank,
          label: LABELS[(i + rank) % LABELS.length]!,
          score: 0.5 / (rank + 1) + (i % 100) / 1000,
        }));
        const document = buildResult(
          { source: { bucket: e.BUCKET_NAME!, key, etag: i.toString(16).padStart(32, '0'), size: 100_000 + i } },
          {
            outcome: { status: 'ok', labels },
            model: { sha256: '0'.repeat(64), weights: 'bench', pretrained: true, precision: 'fp32' as const },
            fingerprint: 'f'.repeat(32),
            device: 'cpu',
            timings: { downloadMs: 3, preprocessMs: 5, inferenceMs: 20, batchSize: 32 },
            processedAt: new Date(),
          },
        );
        await s3.send(
          new PutObjectCommand({
            Bucket: e.BUCKET_NAME,
            Key: resultKeyFor(key, DEFAULT_KEY_LAYOUT),
            Body: JSON.stringify(document),
            ContentType: 'application/json',
          }),
        );
      }),
    ),
  );
  s3.destroy();
  console.log(`${RESULTS} results stored in ${((performance.now() - putStarted) / 1000).toFixed(1)} s`);
  for (let run = 1; run <= RUNS; run++) {
    const cacheEnv = { ...env, ALEXNET_CACHE_DIR: path.join(folder, `cache-${run}`) };
    const cold = timedQuery(cacheEnv);
    const warm = timedQuery(cacheEnv);
    const counted = (JSON.parse(warm.stdout) as Array<{ n: number }>).reduce((sum, row) => sum + row.n, 0);
    if (counted !== RESULTS) throw new Error(`the query counted ${counted} results, not ${RESULTS}`);
    console.log(
      `run ${run}: cold (empty cache, ${RESULTS} downloads) ${cold.seconds.toFixed(2)} s (goal ≤ 10: ${cold.seconds <= 10 ? 'met' : 'NOT met'}); warm (all from the cache) ${warm.seconds.toFixed(2)} s (goal ≤ 1: ${warm.seconds <= 1 ? 'met' : 'NOT met'})`,
    );
  }
} finally {
  await serve.stop();
  await rm(folder, { recursive: true, force: true });
}
