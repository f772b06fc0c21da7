import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { listKeys } from '../cli/bucket-reader.js';
import { fileImageSource } from '../cli/commands/classify.js';
import { createS3Client, createSqsClient } from '../common/aws-clients.js';
import { silentLogger } from '../common/logger.js';
import { startInProcessWorker, type InProcessWorker } from '../local/in-process-worker.js';
import { DEFAULT_KEY_LAYOUT } from '../pipeline/object-keys.js';
import { LocalAws } from '../local/local-aws.js';
import { classifyImages, configureImageDecoding, decodeImage, ImageClassifier, InferenceSession, readModelFile, resolveModelPath } from '../model/index.js';

/**
 * One benchmark phase in its own process, so that its peak RSS and CPU time are its own.
 * Usage: bench-phase <preprocess|inference|classify|worker> <batchSize> <files...>
 * Prints one JSON line: { images, seconds, imagesPerSecond, cpuMsPerImage, peakRssMb }.
 */
const [phase, batchSizeText, ...files] = process.argv.slice(2);
const batchSize = Number(batchSizeText);
/**
 * Untimed passes over the whole set before the timed one, in the preprocessing and end-to-end
 * phases: a long-running task is warm. The worker's SDK and HTTP paths keep getting faster for the
 * first ~1000 images while V8 compiles them: after one warm-up pass its timed pass ran 3–4% slower
 * than after three (`classify` showed no difference).
 */
const WARM_UP_PASSES = Number(process.env.BENCH_WARM_UP_PASSES ?? 3);

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
  const preprocessAll = () => Promise.all(files.map((file) => limit(async () => decodeImage(await readFile(file)))));
  for (let pass = 0; pass < WARM_UP_PASSES; pass++) await preprocessAll();
  await measure(files.length, async () => {
    await preprocessAll();
  });
} else if (phase === 'inference') {
  const model = await readModelFile((await resolveModelPath()).path);
  const session = await InferenceSession.create(model, { device: 'cpu', maxBatchSize: batchSize });
  const { rgb } = await decodeImage(await readFile(files[0]!));
  const batch = Array.from({ length: batchSize }, () => rgb);
  await session.run(batch); // warm-up
  const runs = Math.max(3, Math.ceil(160 / batchSize));
  await measure(runs * batchSize, async () => {
    for (let i = 0; i < runs; i++) await session.run(batch);
  });
  await session.dispose();
} else if (phase === 'classify') {
  const classifier = await ImageClassifier.load({ maxBatchSize: batchSize, device: 'cpu' });
  for (let pass = 0; pass < WARM_UP_PASSES; pass++) for await (const _ of classifyImages(files.map((file) => fileImageSource(file)), classifier, { batchSize }));
  await measure(files.length, async () => {
    let failed = 0;
    for await (const result of classifyImages(files.map((file) => fileImageSource(file)), classifier, { batchSize })) {
      if (result.outcome.status !== 'ok') failed++;
    }
    if (failed > 0) throw new Error(`${failed} images failed`);
  });
  await classifier.dispose();
} else if (phase === 'worker') {
  await measureWorker(files, batchSize);
} else {
  throw new Error(`unknown phase ${phase}`);
}

/**
 * The worker end to end: every file uploaded to the embedded S3 (its notification queued), then
 * timed from a new worker's start until every result is stored. Each pass uploads the same keys
 * after deleting the previous pass's results, so the emulator's memory stays flat. The emulator
 * runs in this process, so its CPU time is counted with the worker's.
 */
async function measureWorker(imageFiles: readonly string[], maxBatch: number): Promise<void> {
  const aws = await LocalAws.start();
  const s3 = createS3Client(aws.clientOptions());
  const sqs = createSqsClient(aws.clientOptions());
  const limit = pLimit(8);
  const classifier = await ImageClassifier.load({ maxBatchSize: maxBatch, device: 'cpu' });
  const layout = DEFAULT_KEY_LAYOUT;
  const deleteResults = async () => {
    const keys = await listKeys(s3, aws.bucket, layout.resultsPrefix);
    for (let i = 0; i < keys.length; i += 1000) {
      await s3.send(new DeleteObjectsCommand({ Bucket: aws.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
    }
  };
  const uploadAll = async () => {
    await Promise.all(
      imageFiles.map((file, i) => limit(async () => s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: `${layout.uploadsPrefix}bench/${i}-${path.basename(file)}`, Body: await readFile(file) })))),
    );
    await aws.notificationsDelivered();
  };
  const runPass = async (timed: boolean) => {
    await deleteResults();
    await uploadAll();
    let worker: InProcessWorker | undefined;
    const work = async () => {
      worker = startInProcessWorker({ aws, classifier, logger: silentLogger, environment: { MAX_BATCH: String(maxBatch), RECEIVE_WAIT_SECONDS: '1' } });
      const { stats } = worker.consumer;
      while (stats.classified + stats.errorResults < imageFiles.length) await sleep(5);
    };
    if (timed) await measure(imageFiles.length, work);
    else await work();
    await worker!.stop();
    const { stats } = worker!.consumer;
    if (stats.errorResults > 0 || stats.duplicates > 0) throw new Error(`${stats.errorResults} images failed, ${stats.duplicates} not recomputed`);
    if (timed) process.stderr.write(`worker batches: ${stats.batches} (mean size ${(imageFiles.length / stats.batches).toFixed(1)})\n`);
  };

  for (let pass = 0; pass < WARM_UP_PASSES; pass++) await runPass(false);
  await runPass(true);
  await classifier.dispose();
  await aws.stop();
}
