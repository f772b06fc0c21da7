import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { fileImageSource } from '../cli/classify/file-image-source.js';
import {
  classifyImages,
  configureImageDecoding,
  decodeImage,
  ImageClassifier,
  InferenceSession,
  readModelFile,
  resolveModelPath,
} from '../model/index.js';
import { readCalibrationSet } from '../model/quantize/calibration-set.js';
import { ensureInt8Model } from '../model/quantize/int8-model.js';
import { quantizeAlexNet } from '../model/quantize/quantize-alexnet.js';
import { measureWorker, measureWorkerOutsideInference } from './worker-phases.js';

/**
 * One benchmark phase in its own process, so that its peak RSS and CPU time are its own.
 * Usage: bench-phase <preprocess|decode-one-thread|inference|classify|quantize|worker|worker-outside-inference|worker-outside-inference-and-decode> <batchSize> <files...>
 * (`BENCH_PRECISION=int8`: inference and classify in int8; quantize: `files[0]` is where the model goes).
 * Prints one JSON line: { images, seconds, imagesPerSecond, cpuMsPerImage, peakRssMb }.
 */
const [phase, batchSizeText, ...files] = process.argv.slice(2);
const batchSize = Number(batchSizeText);
/**
 * Untimed passes over the whole set before the timed one, in the preprocessing and end-to-end
 * phases: a long-running task is warm. The worker's SDK and HTTP paths keep getting faster for the
 * first ~1000 images while V8 compiles them, so a pass over the 1,024-image set is enough.
 */
/** `int8`: the inference and classify phases run the model quantized (`--precision int8`). */
const precision = process.env.BENCH_PRECISION === 'int8' ? 'int8' : 'fp32';
const WARM_UP_PASSES = Number(process.env.BENCH_WARM_UP_PASSES ?? 1);
/** Length of each timed inference phase: long enough that two runs agree (shorter ones varied by 10%). */
const INFERENCE_SECONDS = Number(process.env.BENCH_INFERENCE_SECONDS ?? 10);

async function measure(images: number, work: () => Promise<void>): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  console.log(
    JSON.stringify({
      images,
      seconds,
      imagesPerSecond: images / seconds,
      cpuMsPerImage: (cpu.user + cpu.system) / 1000 / images,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

configureImageDecoding();
if (phase === 'preprocess') {
  const limit = pLimit(availableParallelism());
  const decodeAll = () => Promise.all(files.map((file) => limit(async () => decodeImage(await readFile(file)))));
  for (let pass = 0; pass < WARM_UP_PASSES; pass++) await decodeAll();
  await measure(files.length, async () => {
    await decodeAll();
  });
} else if (phase === 'decode-one-thread') {
  // One image at a time on one libvips thread (`configureImageDecoding`): the CPU an image costs,
  // as the PIL reference (bench/pil-decode-reference.py) measures its own.
  const decodeAll = async () => {
    for (const file of files) await decodeImage(await readFile(file));
  };
  for (let pass = 0; pass < WARM_UP_PASSES; pass++) await decodeAll();
  await measure(files.length, decodeAll);
} else if (phase === 'inference') {
  const fp32Path = (await resolveModelPath()).path;
  const model = await readModelFile(precision === 'int8' ? await ensureInt8Model(fp32Path) : fp32Path);
  const session = await InferenceSession.create(model, { device: 'cpu', maxBatchSize: batchSize });
  const { rgb } = await decodeImage(await readFile(files[0]!));
  const batch = Array.from({ length: batchSize }, () => rgb);
  for (let i = 0; i < 3; i++) await session.run(batch); // warm-up
  // As many batches as fit in INFERENCE_SECONDS, counted first so that `measure` times them alone.
  const probeStarted = performance.now();
  await session.run(batch);
  const runs = Math.max(3, Math.ceil((INFERENCE_SECONDS * 1000) / (performance.now() - probeStarted)));
  await measure(runs * batchSize, async () => {
    for (let i = 0; i < runs; i++) await session.run(batch);
  });
  await session.dispose();
} else if (phase === 'classify') {
  const classifier = await ImageClassifier.load({ maxBatchSize: batchSize, device: 'cpu', precision });
  for (let pass = 0; pass < WARM_UP_PASSES; pass++)
    for await (const _ of classifyImages(
      files.map((file) => fileImageSource(file)),
      classifier,
      { batchSize },
    ));
  await measure(files.length, async () => {
    let failed = 0;
    for await (const result of classifyImages(
      files.map((file) => fileImageSource(file)),
      classifier,
      { batchSize },
    )) {
      if (result.outcome.status !== 'ok') failed++;
    }
    if (failed > 0) throw new Error(`${failed} images failed`);
  });
  await classifier.dispose();
} else if (phase === 'quantize') {
  // The model a run uses, quantized with the default calibration set into a throw-away file (`files[0]`).
  const modelPath = (await resolveModelPath()).path;
  const calibration = await readCalibrationSet();
  await measure(1, async () => {
    await quantizeAlexNet({ modelPath, outPath: files[0]!, calibration });
  });
} else if (phase === 'worker') {
  await measureWorker(files, batchSize, WARM_UP_PASSES, measure);
} else if (phase === 'worker-outside-inference') {
  await measureWorkerOutsideInference(files, batchSize, WARM_UP_PASSES, measure);
} else if (phase === 'worker-outside-inference-and-decode') {
  await measureWorkerOutsideInference(files, batchSize, WARM_UP_PASSES, measure, true);
} else {
  throw new Error(`unknown phase ${phase}`);
}
