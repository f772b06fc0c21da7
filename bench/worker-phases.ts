import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { listKeys } from '../pipeline/s3-operations.js';
import { createS3Client } from '../common/aws-clients.js';
import { silentLogger } from '../common/logger.js';
import { startLocalServe } from '../local/local-serve-process.js';
import { startInProcessWorker, type InProcessWorker } from '../local/in-process-worker.js';
import { LocalAws } from '../local/local-aws.js';
import { decodeImage, ImageClassifier, type BatchClassifier, type DecodedImage } from '../model/index.js';
import { DEFAULT_KEY_LAYOUT } from '../pipeline/object-keys.js';
import { StandInClassifier } from './stand-in-classifier.js';

/** Times `work` for `images` images and prints the phase's figures as one JSON line. */
export type Measure = (images: number, work: () => Promise<void>) => Promise<void>;

/** Everything a worker phase needs of the emulator it runs against. */
interface Emulator {
  readonly bucket: string;
  readonly s3: S3Client;
  /** Settles once the notifications of every upload so far are queued. */
  notificationsDelivered(): Promise<void>;
  startWorker(classifier: BatchClassifier, maxBatch: number): InProcessWorker;
  stop(): Promise<void>;
}

/**
 * The worker end to end through the embedded S3 and SQS in this process, with real inference:
 * every file uploaded (its notification queued), then timed from a new worker's start until every
 * result is stored. The emulator's CPU counts with the worker's, as both run here.
 */
export async function measureWorker(
  files: readonly string[],
  maxBatch: number,
  warmUpPasses: number,
  measure: Measure,
): Promise<void> {
  const aws = await LocalAws.start();
  const emulator: Emulator = {
    bucket: aws.bucket,
    s3: createS3Client(aws.clientOptions()),
    notificationsDelivered: () => aws.notificationsDelivered(),
    startWorker: (classifier, batch) =>
      startInProcessWorker({
        aws,
        classifier,
        logger: silentLogger,
        settings: { maxBatch: batch, receiveWaitSeconds: 1 },
      }),
    stop: () => aws.stop(),
  };
  const classifier = await ImageClassifier.load({ maxBatchSize: maxBatch, device: 'cpu' });
  await runWorkerPasses(emulator, files, classifier, maxBatch, warmUpPasses, measure);
  await classifier.dispose();
  await emulator.stop();
}

/**
 * A decode that decodes each distinct upload once and answers it from memory after that: with it,
 * the worker's CPU time is what it spends outside inference *and* decoding, measured directly
 * rather than as the difference of two noisy figures. Uploads are told apart by their size, which
 * {@link decodesFromMemory} checks is distinct for every distinct content of the set.
 */
async function decodesFromMemory(files: readonly string[]): Promise<typeof decodeImage> {
  const contentBySize = new Map<number, Buffer>();
  for (const file of new Set(files)) {
    const bytes = await readFile(file);
    const seen = contentBySize.get(bytes.length);
    if (seen && !seen.equals(bytes))
      throw new Error(`two different images of ${bytes.length} bytes: the decode cache tells uploads apart by size`);
    contentBySize.set(bytes.length, bytes);
  }
  const decoded = new Map<number, Promise<DecodedImage>>();
  return (bytes, limits, reserve) => {
    let image = decoded.get(bytes.length);
    if (!image) decoded.set(bytes.length, (image = decodeImage(bytes, limits, reserve)));
    return image;
  };
}

/**
 * The worker's CPU time outside inference: the same passes with the {@link StandInClassifier},
 * against `local --serve --no-worker` in its own process, so that this process's CPU time is the
 * worker's alone — downloads, decoding, normalisation, SDK calls, JSON — as on a GPU host. With
 * `decodeFromMemory`, decoding is left out too ({@link decodesFromMemory}).
 */
export async function measureWorkerOutsideInference(
  files: readonly string[],
  maxBatch: number,
  warmUpPasses: number,
  measure: Measure,
  decodeFromMemory = false,
): Promise<void> {
  const decode = decodeFromMemory ? await decodesFromMemory(files) : undefined;
  const serve = await startLocalServe(['--no-worker'], {
    ALEXNET_LOCAL_STATE_FILE: path.join(path.dirname(files[0]!), '..', `state-${process.pid}.json`),
  });
  const env = serve.environment;
  const aws = {
    endpoint: env.AWS_ENDPOINT_URL!,
    region: env.AWS_REGION!,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  };
  const emulator: Emulator = {
    bucket: env.BUCKET_NAME!,
    s3: createS3Client(aws),
    // The emulator queues each notification before it answers the next request of this client; a
    // short pause lets the last ones land.
    notificationsDelivered: () => sleep(500),
    startWorker: (classifier, batch) =>
      startInProcessWorker({
        aws: { clientOptions: (overrides = {}) => ({ ...aws, ...overrides }), environment: () => ({ ...env }) },
        classifier,
        logger: silentLogger,
        settings: { maxBatch: batch, receiveWaitSeconds: 1 },
        decode,
      }),
    stop: async () => void (await serve.stop()),
  };
  await runWorkerPasses(emulator, files, new StandInClassifier(maxBatch), maxBatch, warmUpPasses, measure);
  await emulator.stop();
}

/**
 * Untimed passes, then a timed one. Each pass deletes the previous results and uploads the same
 * keys again, so the emulator's memory stays flat; a pass that finds a duplicate or an error
 * fails the bench.
 */
async function runWorkerPasses(
  emulator: Emulator,
  files: readonly string[],
  classifier: BatchClassifier,
  maxBatch: number,
  warmUpPasses: number,
  measure: Measure,
): Promise<void> {
  const limit = pLimit(8);
  const layout = DEFAULT_KEY_LAYOUT;
  const deleteResults = async () => {
    const keys = await listKeys(emulator.s3, emulator.bucket, layout.resultsPrefix);
    for (let i = 0; i < keys.length; i += 1000) {
      await emulator.s3.send(
        new DeleteObjectsCommand({
          Bucket: emulator.bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) },
        }),
      );
    }
  };
  const uploadAll = async () => {
    await Promise.all(
      files.map((file, i) =>
        limit(async () =>
          emulator.s3.send(
            new PutObjectCommand({
              Bucket: emulator.bucket,
              Key: `${layout.uploadsPrefix}bench/${i}-${path.basename(file)}`,
              Body: await readFile(file),
            }),
          ),
        ),
      ),
    );
    await emulator.notificationsDelivered();
  };
  const runPass = async (timed: boolean) => {
    await deleteResults();
    await uploadAll();
    let worker: InProcessWorker | undefined;
    const work = async () => {
      worker = emulator.startWorker(classifier, maxBatch);
      const { stats } = worker.consumer;
      while (stats.classified + stats.errorResults < files.length) await sleep(5);
    };
    if (timed) await measure(files.length, work);
    else await work();
    await worker!.stop();
    const { stats } = worker!.consumer;
    if (stats.errorResults > 0 || stats.duplicates > 0)
      throw new Error(`${stats.errorResults} images failed, ${stats.duplicates} not recomputed`);
    if (timed)
      process.stderr.write(
        `worker batches: ${stats.batches} (mean size ${(files.length / stats.batches).toFixed(1)})\n`,
      );
  };
  for (let pass = 0; pass < warmUpPasses; pass++) await runPass(false);
  await runPass(true);
}
