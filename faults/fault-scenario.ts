import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import pLimit from 'p-limit';
import { createS3Client, createSqsClient } from '../common/aws-clients.js';
import { projectRoot } from '../common/paths.js';
import { resultKeyFor, DEFAULT_KEY_LAYOUT } from '../pipeline/object-keys.js';
import { listObjects, readResultObject } from '../pipeline/s3-operations.js';
import { workerEnvironmentFor } from '../pipeline/worker-settings.js';
import { resolveModelPath } from '../model/index.js';
import { queueDepth } from '../pipeline/sqs-operations.js';
import { describeDeadLetters } from './dead-letter-diagnosis.js';
import { FaultProxy, NO_FAULTS, type FaultRates } from './fault-proxy.js';
import { startLocalServe } from '../local/local-serve-process.js';
import { CompletionEventSink, forgetNotifications, jobOutcome, submitJob, type JobFaultOutcome } from './job-faults.js';
import { WorkerSupervisor } from './worker-supervisor.js';

/** One fault scenario: a set of uploads, the faults to inject, and how long it may take. */
export interface FaultScenario {
  readonly name: string;
  /** Good images to upload (the sample photos, round-robin). */
  readonly images: number;
  /** Broken files among them (half truncated JPEGs, half text named .jpg): each must get an error result. */
  readonly brokenFiles?: number;
  /** Faults the proxy in front of S3 and SQS injects. Default: none. */
  readonly faults?: FaultRates;
  /** SIGKILL a worker this many times, evenly over the run (each worker in turn), restarting it each time. Default: 0. */
  readonly kills?: number;
  /** Standalone workers running at once, as tasks of one service. Default: 1. */
  readonly workers?: number;
  /**
   * The images are one job: their notifications are deleted once queued (as if the images had
   * been in the bucket before the pipeline) and `submit` enqueues them. The report then says how
   * the job ended. Default: false (each upload's notification is its message).
   */
  readonly job?: boolean;
  /** `ALEXNET_INFERENCE_FAULT` for the first worker process only (e.g. `exit-on-batch:5`). */
  readonly inferenceFault?: string;
  /** Sample the worker's RSS every second. Default: false. */
  readonly sampleRss?: boolean;
  readonly timeoutSeconds: number;
  /** Extra worker environment (e.g. `BATCH_TIMEOUT_SECONDS`). */
  readonly workerEnvironment?: Readonly<Record<string, string>>;
  /** Seed of the fault dice, so that a run can be repeated. Default: 1. */
  readonly seed?: number;
  /** Progress lines. Default: none. */
  readonly log?: (line: string) => void;
}

/** What a scenario found. Lost, wrong and dead-lettered must all be zero. */
export interface FaultReport {
  readonly name: string;
  readonly images: number;
  readonly durationSeconds: number;
  /** Expected results that never appeared. */
  readonly lost: number;
  /** Results with the wrong status or error code. */
  readonly wrong: number;
  readonly deadLettered: number;
  /** Each dead-lettered message's receives, keys and worker log lines (see `describeDeadLetters`); empty when none. */
  readonly deadLetters: readonly string[];
  /** Result writes beyond one per image (a redelivery computed again, or a write retried after a lost response). */
  readonly extraResultWrites: number;
  readonly faults: {
    readonly serviceUnavailable: number;
    readonly resetsBeforeUpstream: number;
    readonly resetsAfterUpstream: number;
    readonly kills: number;
    readonly workerExits: readonly number[];
  };
  /** How the job ended (scenarios with `job`). */
  readonly job?: JobFaultOutcome;
  /** Peak RSS of the middle and the last third of the run, MB. */
  readonly rss?: { readonly middlePeakMb: number; readonly lastPeakMb: number; readonly growth: number };
}

const SAMPLES = path.join(projectRoot, 'samples');

/**
 * Runs one scenario against `local --serve --no-worker` in its own process, with standalone
 * worker processes (restarted whenever one exits or is killed, as ECS would) talking to it through
 * the fault proxy, then checks every expected result.
 */
export async function runFaultScenario(scenario: FaultScenario): Promise<FaultReport> {
  const log = scenario.log ?? (() => undefined);
  const folder = await mkdtemp(path.join(tmpdir(), 'alexnet-faults-'));
  const serve = await startLocalServe(['--no-worker'], { ALEXNET_LOCAL_STATE_FILE: path.join(folder, 'state.json') });
  const env = serve.environment;
  const proxy = await FaultProxy.start(
    env.AWS_ENDPOINT_URL!,
    scenario.faults ?? NO_FAULTS,
    seededRandom(scenario.seed ?? 1),
  );
  const clientOptions = {
    endpoint: env.AWS_ENDPOINT_URL!,
    region: env.AWS_REGION!,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  };
  const s3 = createS3Client(clientOptions);
  const sqs = createSqsClient(clientOptions);
  // Resolved (and on first use fetched) once here: restarted workers load it, none downloads.
  const model = await resolveModelPath();
  const events = scenario.job ? await CompletionEventSink.start() : undefined;
  const workers = Array.from(
    { length: scenario.workers ?? 1 },
    (_, i) =>
      new WorkerSupervisor(path.join(folder, `worker-${i}.log`), {
        ...env,
        AWS_ENDPOINT_URL: proxy.endpoint,
        ...workerEnvironmentFor({
          receiveWaitSeconds: 2,
          visibilityTimeoutSeconds: 10,
          heartbeatIntervalSeconds: 3,
          retryDelaySeconds: 1,
          healthFile: path.join(folder, `alive-${i}`),
          modelPath: model.path,
        }),
        LOG_LEVEL: 'warn',
        ...events?.workerEnvironment(),
        ...scenario.workerEnvironment,
      }),
  );
  try {
    const expected = await uploadScenarioImages(s3, env.BUCKET_NAME!, scenario, log);
    let jobId: string | undefined;
    if (scenario.job) {
      await forgetNotifications(sqs, env.QUEUE_URL!, expected.size);
      jobId = await submitJob(env, `${DEFAULT_KEY_LAYOUT.uploadsPrefix}faults/`);
      log(`${scenario.name}: ${expected.size} images already in the bucket submitted as ${jobId}`);
    }
    log(`${scenario.name}: ${expected.size} images queued; starting ${workers.length} worker(s)`);
    const started = performance.now();
    workers.forEach((worker, i) =>
      worker.start(i === 0 && scenario.inferenceFault ? { ALEXNET_INFERENCE_FAULT: scenario.inferenceFault } : {}),
    );
    const rss = scenario.sampleRss ? workers[0]!.sampleRss() : undefined;
    const kills = await waitForResults(scenario, expected.size, workers, {
      s3,
      sqs,
      bucket: env.BUCKET_NAME!,
      queueUrl: env.QUEUE_URL!,
    });
    const durationSeconds = (performance.now() - started) / 1000;
    const samples = rss?.stop() ?? [];
    const job = jobId ? await jobOutcome(clientOptions, env.JOBS_TABLE!, jobId, events) : undefined;
    await Promise.all(workers.map((worker) => worker.stop()));
    const check = await checkResults(s3, env.BUCKET_NAME!, expected);
    if (check.lost + check.wrong > 0)
      log(
        `${scenario.name}: the last worker log lines:\n${(await readFile(path.join(folder, 'worker-0.log'), 'utf8').catch(() => '')).split('\n').slice(-20).join('\n')}`,
      );
    const deadLetterDepth = await queueDepth(sqs, env.DLQ_URL!);
    const deadLettered = deadLetterDepth.visible + deadLetterDepth.inFlight;
    const workerLogs = workers.map((_, i) => path.join(folder, `worker-${i}.log`));
    const deadLetters = deadLettered > 0 ? await describeDeadLetters(sqs, env.DLQ_URL!, workerLogs) : [];
    const writes = [...proxy.counts.resultWrites.values()].reduce((sum, count) => sum + count, 0);
    return {
      name: scenario.name,
      images: expected.size,
      durationSeconds,
      lost: check.lost,
      wrong: check.wrong,
      deadLettered,
      deadLetters,
      extraResultWrites: writes - proxy.counts.resultWrites.size,
      faults: {
        serviceUnavailable: proxy.counts.serviceUnavailable,
        resetsBeforeUpstream: proxy.counts.resetsBeforeUpstream,
        resetsAfterUpstream: proxy.counts.resetsAfterUpstream,
        kills,
        workerExits: workers.flatMap((worker) => worker.unexpectedExits),
      },
      ...(job ? { job } : {}),
      ...(samples.length >= 6 ? { rss: rssGrowth(samples) } : {}),
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    await events?.stop();
    s3.destroy();
    sqs.destroy();
    await proxy.stop();
    await serve.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Waits until every image has its result and the queue is empty (or the scenario's time is up),
 * SIGKILLing the worker at even steps of progress as the scenario asks. Returns the kills made.
 */
async function waitForResults(
  scenario: FaultScenario,
  images: number,
  workers: readonly WorkerSupervisor[],
  where: { s3: S3Client; sqs: SQSClient; bucket: string; queueUrl: string },
): Promise<number> {
  const log = scenario.log ?? (() => undefined);
  let kills = 0;
  const deadline = Date.now() + scenario.timeoutSeconds * 1000;
  for (;;) {
    const done = await countKeys(where.s3, where.bucket, DEFAULT_KEY_LAYOUT.resultsPrefix);
    if (kills < (scenario.kills ?? 0) && done >= (images * (kills + 1)) / ((scenario.kills ?? 0) + 1)) {
      kills++;
      log(`${scenario.name}: SIGKILL ${kills} at ${done} results`);
      await workers[(kills - 1) % workers.length]!.killAndRestart();
    }
    if (done >= images && (await queueIsEmpty(where.sqs, where.queueUrl))) break;
    if (Date.now() > deadline) break;
    await sleep(200);
  }
  return kills;
}

/** Uploads the scenario's files straight to the emulator; returns result key → expected status or error code. */
async function uploadScenarioImages(
  s3: S3Client,
  bucket: string,
  scenario: FaultScenario,
  log: (line: string) => void,
): Promise<Map<string, string>> {
  const names = (await readdir(SAMPLES)).sort();
  const photos = await Promise.all(names.map((name) => readFile(path.join(SAMPLES, name))));
  const broken = [
    { name: 'truncated.jpg', body: photos[0]!.subarray(0, Math.floor(photos[0]!.length / 2)), code: 'CORRUPT_IMAGE' },
    { name: 'shopping-list.jpg', body: Buffer.from('milk\neggs\nbread\n'), code: 'NOT_AN_IMAGE' },
  ];
  const uploads: Array<{ key: string; body: Uint8Array; expect: string }> = [];
  for (let i = 0; i < scenario.images; i++)
    uploads.push({
      key: `uploads/faults/${i}-${names[i % names.length]}`,
      body: photos[i % photos.length]!,
      expect: 'ok',
    });
  for (let i = 0; i < (scenario.brokenFiles ?? 0); i++) {
    const file = broken[i % broken.length]!;
    uploads.push({ key: `uploads/faults/broken-${i}-${file.name}`, body: file.body, expect: file.code });
  }
  const limit = pLimit(16);
  let sent = 0;
  await Promise.all(
    uploads.map((upload) =>
      limit(async () => {
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: upload.key, Body: upload.body }));
        if (++sent % 2000 === 0) log(`${scenario.name}: ${sent} uploaded`);
      }),
    ),
  );
  return new Map(uploads.map((upload) => [resultKeyFor(upload.key, DEFAULT_KEY_LAYOUT), upload.expect]));
}

async function countKeys(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  return (await listObjects(s3, bucket, prefix)).length;
}

async function queueIsEmpty(sqs: SQSClient, queueUrl: string): Promise<boolean> {
  const { visible, inFlight } = await queueDepth(sqs, queueUrl);
  return visible + inFlight === 0;
}

async function checkResults(
  s3: S3Client,
  bucket: string,
  expected: ReadonlyMap<string, string>,
): Promise<{ lost: number; wrong: number }> {
  let lost = 0;
  let wrong = 0;
  const limit = pLimit(32);
  await Promise.all(
    [...expected].map(([key, expect]) =>
      limit(async () => {
        const read = await readResultObject(s3, bucket, key).catch(() => undefined);
        if (!read || 'problem' in read) {
          lost++;
          return;
        }
        const got = read.document.status === 'ok' ? 'ok' : read.document.error?.code;
        if (got !== expect) wrong++;
      }),
    ),
  );
  return { lost, wrong };
}

/** The peak RSS of the middle and the last third of the samples, and the growth between them. */
export function rssGrowth(samplesMb: readonly number[]): { middlePeakMb: number; lastPeakMb: number; growth: number } {
  const third = Math.floor(samplesMb.length / 3);
  const middlePeakMb = Math.max(...samplesMb.slice(third, 2 * third));
  const lastPeakMb = Math.max(...samplesMb.slice(2 * third));
  return { middlePeakMb, lastPeakMb, growth: lastPeakMb / middlePeakMb - 1 };
}

/** mulberry32: a small seeded generator, so that a fault run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
