import { fileURLToPath } from 'node:url';
import { runFaultScenario, type FaultReport, type FaultScenario } from './fault-scenario.js';

/** The fault rates the suite injects in front of S3 and SQS. */
export const NETWORK_FAULTS = {
  serviceUnavailable: 0.1,
  resetBeforeUpstream: 0.01,
  resetAfterUpstream: 0.01,
  maxLatencyMs: 100,
} as const;

/**
 * The fault suite's scenarios at a size: `full` is `npm run faults` (1,000 images per scenario,
 * a 10,000-image soak); `short` runs in `npm test`.
 */
export function faultScenarios(size: 'full' | 'short', log?: (line: string) => void): FaultScenario[] {
  const full = size === 'full';
  // The short run's worker takes small bites, so that its faults land while work remains.
  const small: Record<string, string> = full ? {} : { MAX_BATCH: '4', MAX_IMAGES_IN_FLIGHT: '8' };
  // Few requests in the short run: resets three times as often, so that every kind happens.
  const faults = full ? NETWORK_FAULTS : { ...NETWORK_FAULTS, resetBeforeUpstream: 0.03, resetAfterUpstream: 0.03 };
  return [
    {
      name: 'SIGKILL ×3 mid-run',
      images: full ? 1_000 : 120,
      brokenFiles: full ? 20 : 4,
      kills: full ? 3 : 2,
      workerEnvironment: small,
      timeoutSeconds: full ? 600 : 180,
      log,
    },
    {
      name: '503s, resets, latency',
      images: full ? 1_000 : 60,
      brokenFiles: full ? 20 : 4,
      faults,
      workerEnvironment: small,
      timeoutSeconds: full ? 900 : 180,
      log,
    },
    {
      name: 'a job: two workers, SIGKILL ×2, 503s',
      images: full ? 2_000 : 100,
      brokenFiles: full ? 20 : 4,
      job: true,
      workers: 2,
      kills: 2,
      faults,
      workerEnvironment: small,
      timeoutSeconds: full ? 900 : 240,
      log,
    },
    {
      name: 'inference thread exits',
      images: full ? 200 : 24,
      inferenceFault: 'exit-on-batch:4',
      workerEnvironment: { MAX_BATCH: '4' },
      timeoutSeconds: 180,
      log,
    },
    {
      name: 'inference hangs',
      images: full ? 200 : 24,
      inferenceFault: 'hang-on-batch:4',
      workerEnvironment: { MAX_BATCH: '4', BATCH_TIMEOUT_SECONDS: '5' },
      timeoutSeconds: 180,
      log,
    },
    ...(full ? [{ name: 'soak 10,000 images', images: 10_000, sampleRss: true, timeoutSeconds: 1_800, log }] : []),
  ];
}

/** One row of the README's table. */
export function formatReport(report: FaultReport): string {
  const f = report.faults;
  const injected =
    [
      f.kills ? `${f.kills} SIGKILL` : '',
      f.serviceUnavailable ? `${f.serviceUnavailable} × 503` : '',
      f.resetsBeforeUpstream ? `${f.resetsBeforeUpstream} resets before` : '',
      f.resetsAfterUpstream ? `${f.resetsAfterUpstream} resets after` : '',
      f.workerExits.length ? `worker exits ${f.workerExits.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(', ') || 'none';
  const rss = report.rss
    ? ` | RSS peak ${report.rss.middlePeakMb.toFixed(0)} → ${report.rss.lastPeakMb.toFixed(0)} MB (${(report.rss.growth * 100).toFixed(1)}%)`
    : '';
  const job = report.job
    ? ` | job ${report.job.state}: ${report.job.stored} stored, ${report.job.errors} errors of ${report.job.total}, completion event ${report.job.completionEvent}${report.job.completionEvents === undefined ? ' (events not counted: no moto)' : `, ${report.job.completionEvents} received`}`
    : '';
  return `| ${report.name} | ${report.images} | ${report.durationSeconds.toFixed(0)} s | ${report.lost} | ${report.wrong} | ${report.deadLettered} | ${report.extraResultWrites} | ${injected}${rss}${job} |`;
}

/**
 * A job's scenario ended as it must: completed, every image counted once as what its result says,
 * no result computed twice (one successful write each), and exactly one completion event (where
 * moto can receive them).
 */
export function jobEndedExactly(report: FaultReport, brokenFiles: number): boolean {
  const job = report.job;
  if (!job) return false;
  return (
    job.state === 'completed' &&
    job.total === report.images &&
    job.stored === report.images - brokenFiles &&
    job.errors === brokenFiles &&
    job.completionEvent === 'sent' &&
    job.deadLettered === 0 &&
    (job.completionEvents === undefined || job.completionEvents === 1) &&
    report.extraResultWrites === 0
  );
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const log = (line: string) => process.stderr.write(`${line}\n`);
  console.log('| scenario | images | duration | lost | wrong | in DLQ | extra result writes | faults injected |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let failed = false;
  for (const scenario of faultScenarios('full', log).filter((s) => !only || s.name.includes(only))) {
    const report = await runFaultScenario(scenario);
    console.log(formatReport(report));
    for (const description of report.deadLetters) log(description);
    if (report.lost + report.wrong + report.deadLettered > 0 || (report.rss && report.rss.growth > 0.1)) failed = true;
    if (scenario.job && !jobEndedExactly(report, scenario.brokenFiles ?? 0)) failed = true;
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
