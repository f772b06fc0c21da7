import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { fileImageSource } from '../cli/commands/classify.js';
import { classifyImages, IMAGE_TENSOR_LENGTH, ImageClassifier, InferenceSession, preprocessImage, readModelFile, resolveModelPath } from '../model/index.js';

/**
 * One benchmark phase in its own process, so that its peak RSS and CPU time are its own.
 * Usage: bench-phase <preprocess|inference|classify> <batchSize> <files...>
 * Prints one JSON line: { images, seconds, imagesPerSecond, cpuMsPerImage, peakRssMb }.
 */
const [phase, batchSizeText, ...files] = process.argv.slice(2);
const batchSize = Number(batchSizeText);

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

if (phase === 'preprocess') {
  const limit = pLimit(availableParallelism());
  await measure(files.length, async () => {
    await Promise.all(files.map((file) => limit(async () => preprocessImage(await readFile(file)))));
  });
} else if (phase === 'inference') {
  const model = await readModelFile((await resolveModelPath()).path);
  const session = await InferenceSession.create(model, { device: 'cpu', maxBatchSize: batchSize });
  const tensor = (await preprocessImage(await readFile(files[0]!))).tensor;
  const batch = new Float32Array(batchSize * IMAGE_TENSOR_LENGTH);
  for (let i = 0; i < batchSize; i++) batch.set(tensor, i * IMAGE_TENSOR_LENGTH);
  await session.run(batch, batchSize); // warm-up
  const runs = Math.max(3, Math.ceil(160 / batchSize));
  await measure(runs * batchSize, async () => {
    for (let i = 0; i < runs; i++) await session.run(batch, batchSize);
  });
  await session.dispose();
} else if (phase === 'classify') {
  const classifier = await ImageClassifier.load({ maxBatchSize: batchSize, device: 'cpu' });
  await classifier.classifyBatch([new Float32Array(IMAGE_TENSOR_LENGTH)]); // warm-up, as a long run would be
  await measure(files.length, async () => {
    let failed = 0;
    for await (const result of classifyImages(files.map((file) => fileImageSource(file)), classifier, { batchSize })) {
      if (result.outcome.status !== 'ok') failed++;
    }
    if (failed > 0) throw new Error(`${failed} images failed`);
  });
  await classifier.dispose();
} else {
  throw new Error(`unknown phase ${phase}`);
}
