import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import type { BatchClassifier } from './image-classifier.js';
import { decodeImage, type PreprocessOptions } from './preprocess.js';
import { errorOutcome, type ClassificationOutcome } from './result.js';

/** An image to classify: a name for the result and a way to read its bytes when its turn comes. */
export interface ImageSource {
  readonly name: string;
  read(): Promise<Uint8Array>;
}

/** Options of {@link classifyImages}. */
export interface ClassifyImagesOptions {
  /** Images per inference run (at most the classifier's maximum). Default: the classifier's maximum. */
  readonly batchSize?: number;
  /** Images read and decoded at once. Default: {@link DECODES_PER_CORE} per core of the machine. */
  readonly preprocessConcurrency?: number;
  /** Size limits for each image. Default: those of `decodeImage`. */
  readonly preprocess?: PreprocessOptions;
}

/** One image's outcome, with timings in milliseconds. */
export interface ImageClassification {
  readonly source: ImageSource;
  readonly outcome: ClassificationOutcome;
  readonly timings: { readonly preprocessMs: number; readonly inferenceMs: number; readonly batchSize: number };
}

/**
 * Decodes in flight per core. One per core left the cores idle ~12% of the time beside int8
 * inference (a decode also waits on its file read and on this thread between its steps): on 2
 * cores, 1,024 small images, `classify --precision int8` went from 226 to 259–266 images/s with
 * two per core (1.76 → 1.93 cores busy; three per core: 265–269, four: 225–261). fp32, where
 * inference keeps the cores busy anyway, moved within its noise (129–130 → 131–133). Memory: at most
 * this many files per core are read and decoding at once, each within the size and pixel limits; the
 * decoded images still belong to the two batches held (the one running and the next).
 */
export const DECODES_PER_CORE = 2;

type Prepared = { rgb: Uint8Array; preprocessMs: number } | { error: unknown; preprocessMs: number };

/**
 * Classifies images in input order, batch by batch. The next batch is read and decoded while the
 * current one runs, so decoding overlaps inference; at most two batches are held in memory. An image
 * that cannot be read or decoded yields an error outcome and the run goes on.
 */
export async function* classifyImages(
  sources: readonly ImageSource[],
  classifier: BatchClassifier,
  options: ClassifyImagesOptions = {},
): AsyncGenerator<ImageClassification> {
  const batchSize = Math.min(options.batchSize ?? classifier.maxBatchSize, classifier.maxBatchSize);
  const limit = pLimit(options.preprocessConcurrency ?? DECODES_PER_CORE * availableParallelism());
  const prepare = (source: ImageSource): Promise<Prepared> =>
    limit(async () => {
      const started = performance.now();
      try {
        const image = await decodeImage(await source.read(), options.preprocess);
        return { rgb: image.rgb, preprocessMs: performance.now() - started };
      } catch (error) {
        return { error, preprocessMs: performance.now() - started };
      }
    });

  const batches: ImageSource[][] = [];
  for (let start = 0; start < sources.length; start += batchSize) batches.push(sources.slice(start, start + batchSize));

  let next = batches[0]?.map(prepare);
  for (let index = 0; index < batches.length; index++) {
    const current = next!;
    next = batches[index + 1]?.map(prepare);
    const prepared = await Promise.all(current);
    yield* classifyPrepared(batches[index]!, prepared, classifier);
  }
}

async function* classifyPrepared(
  sources: readonly ImageSource[],
  prepared: readonly Prepared[],
  classifier: BatchClassifier,
): AsyncGenerator<ImageClassification> {
  const images = prepared.flatMap((item) => ('rgb' in item ? [item.rgb] : []));
  const started = performance.now();
  let labels: Awaited<ReturnType<BatchClassifier['classifyBatch']>> | undefined;
  let inferenceError: unknown;
  try {
    labels = await classifier.classifyBatch(images);
  } catch (error) {
    inferenceError = error;
  }
  const inferenceMs = performance.now() - started;
  let okIndex = 0;
  for (let i = 0; i < sources.length; i++) {
    const item = prepared[i]!;
    const timings = { preprocessMs: item.preprocessMs, inferenceMs, batchSize: images.length };
    let outcome: ClassificationOutcome;
    if ('error' in item) outcome = errorOutcome(item.error);
    else if (labels) outcome = { status: 'ok', labels: labels[okIndex++]! };
    else outcome = errorOutcome(inferenceError);
    yield { source: sources[i]!, outcome, timings };
  }
}
