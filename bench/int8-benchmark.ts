import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../common/paths.js';
import { decodeImage, InferenceSession, readModelFile, resolveModelPath } from '../model/index.js';
import { ensureInt8Model } from '../model/quantize/int8-model.js';
import { comparePrecisions, type PrecisionAgreement } from '../model/quantize/precision-agreement.js';
import { repeatedFixtures } from './image-sets.js';
import { formatFigures, runPhase } from './run-benchmarks.js';
import { variedImages } from './varied-images.js';

/**
 * `npm run bench:int8`: the int8 model against the fp32 model it is made from, on the model a run
 * uses (the dev model offline; the pretrained one after `model fetch`) — what quantizing costs, how
 * often the two agree on the fixture photos and on generated images, inference per second at batch
 * 1, 8 and 32, and `classify` end to end in both precisions beside a plain PyTorch loop.
 */
const fixtures = path.join(projectRoot, 'samples');
/**
 * Generated images for the agreement figure (seeded: the same images every run). 2,000, not 500:
 * on 500 the top-1 share's 95% interval is ±1.8 points, wider than most changes worth measuring.
 */
const GENERATED_IMAGES = Number(process.env.BENCH_INT8_IMAGES ?? 2000);
const GENERATED_SEED = 1;
const END_TO_END_IMAGES = Number(process.env.BENCH_IMAGES ?? 1024);
/** Images of the PyTorch loop (about 20 per second: ~13 s). */
const PYTORCH_IMAGES = Number(process.env.BENCH_TORCH_IMAGES ?? 256);
const PYTHON_WITH_TORCH = process.env.BENCH_PYTHON ?? '/usr/bin/python3';

const GOALS = {
  quantizeSeconds: 30,
  quantizePeakMb: 1536,
  top1Agreement: 0.98,
  inferenceSpeedUp: 2.5,
  classifyOverPytorch: 12,
} as const;
const verdict = (met: boolean) => (met ? 'met' : 'NOT met');

async function logitsOf(session: InferenceSession, images: readonly Uint8Array[]): Promise<Float32Array> {
  const logits = new Float32Array(images.length * 1000);
  for (let start = 0; start < images.length; start += session.maxBatchSize)
    logits.set(await session.run(images.slice(start, start + session.maxBatchSize)), start * 1000);
  return logits;
}

/** Wilson's 95% interval of a share measured on `count` trials: how far the top-1 figure can be trusted. */
function wilsonInterval(share: number, count: number): [number, number] {
  const z = 1.96;
  const centre = (share + (z * z) / (2 * count)) / (1 + (z * z) / count);
  const half = (z * Math.sqrt((share * (1 - share)) / count + (z * z) / (4 * count * count))) / (1 + (z * z) / count);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function formatAgreement(set: string, agreement: PrecisionAgreement): string {
  const percent = (share: number) => `${(share * 100).toFixed(1)}%`;
  const [low, high] = wilsonInterval(agreement.top1Agreement, agreement.images);
  return `${set.padEnd(30)} top-1 agreement ${percent(agreement.top1Agreement)} (${agreement.images - agreement.disagreeing.length}/${agreement.images}; 95% interval ${percent(low)}–${percent(high)}), top-5 overlap ${percent(agreement.top5Overlap)}, largest score difference ${agreement.maxScoreDifference.toFixed(4)}, mean |Δlogit| ${agreement.meanLogitDifference.toFixed(4)}, centred logit error (RMS) ${agreement.centredLogitRms.toFixed(4)}`;
}

async function compareOn(
  fp32Path: string,
  int8Path: string,
  sets: Record<string, string[]>,
): Promise<PrecisionAgreement[]> {
  const fp32 = await InferenceSession.create(await readModelFile(fp32Path), { device: 'cpu' });
  const int8 = await InferenceSession.create(await readModelFile(int8Path), { device: 'cpu' });
  const results: PrecisionAgreement[] = [];
  try {
    for (const [name, files] of Object.entries(sets)) {
      const images = await Promise.all(files.map(async (file) => (await decodeImage(await readFile(file))).rgb));
      const agreement = comparePrecisions(await logitsOf(fp32, images), await logitsOf(int8, images));
      console.log(formatAgreement(name, agreement));
      results.push(agreement);
    }
  } finally {
    await Promise.all([fp32.dispose(), int8.dispose()]);
  }
  return results;
}

function pytorchLoop(files: readonly string[]): number | undefined {
  const script = path.join(projectRoot, 'bench', 'pytorch-loop-reference.py');
  const run = spawnSync(PYTHON_WITH_TORCH, [script, ...files], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (run.status !== 0) {
    console.log(
      `PyTorch loop skipped: ${PYTHON_WITH_TORCH} with torchvision did not run (${(run.stderr || String(run.error ?? '')).trim().split('\n').at(-1)}); apt install python3-torchvision`,
    );
    return undefined;
  }
  return (JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { imagesPerSecond: number }).imagesPerSecond;
}

async function main(): Promise<void> {
  const workFolder = await mkdtemp(path.join(tmpdir(), 'alexnet-bench-int8-'));
  try {
    const fp32Path = (await resolveModelPath()).path;
    const { identity } = await readModelFile(fp32Path);
    console.log(
      `# model ${fp32Path}: weights ${identity.weights}${identity.pretrained ? ' (pretrained)' : ' — UNTRAINED: agreement here is between two untrained models, see the README'}`,
    );

    const quantize = runPhase('quantize', 1, [path.join(workFolder, 'int8.onnx')]);
    console.log(
      `model quantize: ${quantize.seconds.toFixed(1)} s (target ≤ ${GOALS.quantizeSeconds}: ${verdict(quantize.seconds <= GOALS.quantizeSeconds)}), peak RSS ${quantize.peakRssMb.toFixed(0)} MB (target ≤ ${GOALS.quantizePeakMb}: ${verdict(quantize.peakRssMb <= GOALS.quantizePeakMb)})`,
    );
    const int8Path = await ensureInt8Model(fp32Path);

    console.log('\n# agreement, int8 against fp32 (same images, same preprocessing)');
    const fixtureFiles = (await readdir(fixtures)).sort().map((name) => path.join(fixtures, name));
    const generated = await variedImages(fixtures, path.join(workFolder, 'varied'), GENERATED_IMAGES, GENERATED_SEED);
    const [, onGenerated] = await compareOn(fp32Path, int8Path, {
      [`fixture photos ×${fixtureFiles.length}`]: fixtureFiles,
      [generated.name]: generated.files,
    });
    console.log(
      `top-1 agreement on the generated set: target ≥ ${GOALS.top1Agreement * 100}%: ${verdict(onGenerated!.top1Agreement >= GOALS.top1Agreement)}`,
    );

    console.log('\n# inference alone (CPU, 2 threads)');
    for (const batchSize of [1, 8, 32]) {
      const chelsea = [path.join(fixtures, 'chelsea.jpg')];
      const fp32 = runPhase('inference', batchSize, chelsea, 'fp32');
      const int8 = runPhase('inference', batchSize, chelsea, 'int8');
      console.log(formatFigures(`fp32 inference batch ${batchSize}`, fp32));
      console.log(formatFigures(`int8 inference batch ${batchSize}`, int8));
      const speedUp = int8.imagesPerSecond / fp32.imagesPerSecond;
      console.log(
        `int8 / fp32 at batch ${batchSize}: ${speedUp.toFixed(2)}×${batchSize === 32 ? ` (target ≥ ${GOALS.inferenceSpeedUp}: ${verdict(speedUp >= GOALS.inferenceSpeedUp)})` : ''}`,
      );
    }

    const small = await repeatedFixtures(fixtures, path.join(workFolder, 'fixtures'), END_TO_END_IMAGES);
    console.log(`\n# classify end to end, ${small.name}`);
    const fp32 = runPhase('classify', 32, small.files, 'fp32');
    const int8 = runPhase('classify', 32, small.files, 'int8');
    console.log(formatFigures('classify fp32 (batch 32)', fp32));
    console.log(formatFigures('classify --precision int8 (batch 32)', int8));
    const pytorch = pytorchLoop(small.files.slice(0, PYTORCH_IMAGES));
    if (pytorch !== undefined) {
      console.log(
        `${'PyTorch loop (one image at a time)'.padEnd(38)} ${pytorch.toFixed(1).padStart(7)} img/s  (${PYTORCH_IMAGES} images)`,
      );
      const ratio = int8.imagesPerSecond / pytorch;
      console.log(
        `classify / PyTorch loop: fp32 ${(fp32.imagesPerSecond / pytorch).toFixed(1)}×, int8 ${ratio.toFixed(1)}× (target ≥ ${GOALS.classifyOverPytorch}×: ${verdict(ratio >= GOALS.classifyOverPytorch)})`,
      );
    }
  } finally {
    await rm(workFolder, { recursive: true, force: true });
  }
}

await main();
