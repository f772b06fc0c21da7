import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../common/paths.js';
import { resolveModelPath } from '../model/index.js';
import { phoneSizedPhotos, repeatedFixtures, type ImageSet } from './image-sets.js';

/**
 * `npm run bench`: throughput and peak memory of each stage and of the whole `classify`, on the
 * fixtures repeated to 256 images and on 64 phone-sized photos. Each phase runs in its own process.
 * Figures are noisy on a shared 2-core machine: compare the ratios printed in one run.
 */
interface PhaseFigures {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  cpuMsPerImage: number;
  peakRssMb: number;
}

const phaseScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bench-phase.js');
const fixtures = path.resolve(projectRoot, '..', 'shared', 'fixtures', 'images');

export function runPhase(phase: string, batchSize: number, files: readonly string[]): PhaseFigures {
  const run = spawnSync(process.execPath, [phaseScript, phase, String(batchSize), ...files], { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, LOG_LEVEL: 'warn' } });
  if (run.status !== 0) throw new Error(`phase ${phase} failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as PhaseFigures;
}

export function formatFigures(label: string, figures: PhaseFigures): string {
  return `${label.padEnd(34)} ${figures.imagesPerSecond.toFixed(1).padStart(7)} img/s  ${figures.cpuMsPerImage.toFixed(1).padStart(6)} ms CPU/img  peak RSS ${figures.peakRssMb.toFixed(0).padStart(5)} MB  (${figures.images} images, ${figures.seconds.toFixed(2)} s)`;
}

/** How many worker/classify pairs to run; their median ratio is the figure (timings here are noisy). */
const WORKER_REPEATS = Number(process.env.BENCH_REPEATS ?? 5);

/**
 * The worker end to end against `classify` on the same images, in pairs run back to back so that
 * both see the same machine; the median of the pairs' ratios is reported.
 */
function compareWorkerWithClassify(set: ImageSet, firstClassify: PhaseFigures): void {
  const ratios: number[] = [];
  const extraCpu: number[] = [];
  for (let run = 0; run < WORKER_REPEATS; run++) {
    const classify = run === 0 ? firstClassify : runPhase('classify', 32, set.files);
    const worker = runPhase('worker', 32, set.files);
    if (run > 0) console.log(formatFigures(`classify end to end (pair ${run + 1})`, classify));
    console.log(formatFigures(`worker via embedded S3 + SQS (pair ${run + 1})`, worker));
    ratios.push(worker.imagesPerSecond / classify.imagesPerSecond);
    extraCpu.push(worker.cpuMsPerImage - classify.cpuMsPerImage);
  }
  const ratio = median(ratios);
  const extra = median(extraCpu);
  console.log(`worker / classify per pair: ${ratios.map((r) => r.toFixed(2)).join(', ')}; median ${ratio.toFixed(2)} (target ≥ 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'})`);
  console.log(`extra CPU per image (worker − classify) per pair: ${extraCpu.map((e) => e.toFixed(1)).join(', ')} ms; median ${extra.toFixed(1)} ms (target ≤ 8: ${extra <= 8 ? 'met' : 'NOT met'})`);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

async function main(): Promise<void> {
  const workFolder = await mkdtemp(path.join(tmpdir(), 'alexnet-bench-'));
  try {
    await resolveModelPath(); // build the dev model outside the timed phases
    console.log('# inference alone (dev model, CPU, 2 threads)');
    const inference: Record<number, PhaseFigures> = {};
    for (const batchSize of [1, 8, 32]) {
      inference[batchSize] = runPhase('inference', batchSize, [path.join(fixtures, 'chelsea.jpg')]);
      console.log(formatFigures(`inference batch ${batchSize}`, inference[batchSize]!));
    }
    console.log(`inference batch 32 target ≥ 110 img/s: ${inference[32]!.imagesPerSecond >= 110 ? 'met' : 'NOT met'}`);

    const sets: ImageSet[] = [
      await repeatedFixtures(fixtures, path.join(workFolder, 'fixtures'), 256),
      await phoneSizedPhotos(fixtures, path.join(workFolder, 'phone'), 64),
    ];
    for (const set of sets) {
      console.log(`\n# ${set.name}`);
      const preprocess = runPhase('preprocess', 32, set.files);
      console.log(formatFigures('preprocess alone', preprocess));
      const classify = runPhase('classify', 32, set.files);
      console.log(formatFigures('classify end to end (batch 32)', classify));
      const bound = 1 / (1 / preprocess.imagesPerSecond + 1 / inference[32]!.imagesPerSecond);
      const ratio = classify.imagesPerSecond / bound;
      console.log(`combined bound 1/(1/pre + 1/inf) = ${bound.toFixed(1)} img/s; classify / bound = ${ratio.toFixed(2)} (target ≥ 0.85: ${ratio >= 0.85 ? 'met' : 'NOT met'})`);
      if (set === sets[0]) compareWorkerWithClassify(set, classify);
    }
  } finally {
    await rm(workFolder, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
