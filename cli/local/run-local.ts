import path from 'node:path';
import type { Logger } from '../../common/logger.js';
import { projectRoot } from '../../common/paths.js';
import { startInProcessWorker, type InProcessWorker } from '../../local/in-process-worker.js';
import { LocalAws } from '../../local/local-aws.js';
import { ImageClassifier } from '../../model/index.js';
import { CliError } from '../support/cli-error.js';
import { warnSkipped } from '../classify/image-files.js';
import { printResultsAsTheyArrive } from './local-results-printer.js';
import { servePipeline } from './local-serve.js';
import { claimLocalState, removeLocalState } from './local-state.js';
import { checkOutputFile } from '../support/output-file.js';
import { classifierOptionsFrom, type ModelCommandOptions } from '../classify/model-options.js';
import { keyLayout, localTarget } from '../target/target.js';
import type { KeyLayout } from '../../pipeline/object-keys.js';
import { startGallery } from '../gallery/start-gallery.js';
import { planUploads, uploadAll } from '../upload/uploads.js';

/** The images `npm start` classifies when none are given. */
export const SAMPLE_IMAGES_FOLDER = path.join(projectRoot, 'samples');

export interface LocalOptions extends ModelCommandOptions {
  serve?: boolean;
  /** False with `--no-worker`. */
  worker: boolean;
  port: number;
  galleryPort: number;
  out: string;
  timeout: number;
  /** `--source-buckets`: other buckets made in the emulator, whose images jobs may name. */
  sourceBuckets?: readonly string[];
}

export async function runLocal(paths: string[], options: LocalOptions, logger: Logger): Promise<number> {
  if (!options.worker && !options.serve)
    throw new CliError('--no-worker needs --serve: without a worker nothing would classify the images');
  if (!options.serve) await checkOutputFile(options.out);
  const quiet = logger.child({}, { level: process.env.LOG_LEVEL ?? 'warn' });
  const givenPaths = paths.length > 0 ? paths : options.serve ? [] : [SAMPLE_IMAGES_FOLDER];
  const layout = keyLayout();
  // The paths are checked before anything starts: a typo costs a line, not a model load.
  const { uploads, skipped } = await planUploads(givenPaths, layout.uploadsPrefix);
  warnSkipped(logger, skipped);
  if (uploads.length === 0 && !options.serve) throw new CliError('no images to classify among the given paths');
  // Of two `local --serve` for one state file, exactly one gets past this line.
  if (options.serve) await claimLocalState();
  const aws = await startEmulator(options, layout.uploadsPrefix, quiet);
  const connection = { ...aws.connection(), layout };
  const target = localTarget(connection);
  let classifier: ImageClassifier | undefined;
  let worker: InProcessWorker | undefined;
  try {
    if (options.worker) {
      classifier = await ImageClassifier.load(classifierOptionsFrom(options), logger);
      worker = startLocalWorker(aws, classifier, options, layout, quiet);
    }
    if (options.serve) {
      await uploadAll(target, uploads);
      const gallery = await startGallery(target, {
        port: options.galleryPort,
        portOption: '--gallery-port',
        maxBytes: options.maxBytes,
        maxPixels: options.maxPixels,
        logger: quiet,
      });
      try {
        return await servePipeline(
          aws,
          { ...connection, pid: process.pid },
          { withWorker: options.worker, logger, galleryUrl: gallery.server.url },
        );
      } finally {
        await gallery.server.close();
      }
    }
    const uploadedAt = Date.now();
    const keys = await uploadAll(target, uploads);
    return await printResultsAsTheyArrive(target, keys, {
      uploadedAt,
      timeoutSeconds: options.timeout,
      out: options.out,
      pretrained: classifier!.model.pretrained,
    });
  } finally {
    await worker?.stop();
    await classifier?.dispose();
    target.s3.destroy();
    target.sqs.destroy();
    await aws.stop();
    await removeLocalState();
  }
}

/** The embedded S3 and SQS, with a new key pair for every run: another user on this machine cannot use the bucket. */
async function startEmulator(options: LocalOptions, uploadsPrefix: string, quiet: Logger): Promise<LocalAws> {
  const { port } = options;
  const sourceBuckets = options.sourceBuckets ?? [];
  return LocalAws.start({ port, uploadsPrefix, sourceBuckets, logger: quiet, credentials: 'random' }).catch(
    async (error: NodeJS.ErrnoException) => {
      await removeLocalState();
      throw new CliError(
        error.code === 'EADDRINUSE'
          ? `port ${port} is in use: pick another with --port`
          : `the embedded S3/SQS could not start: ${error.message}`,
        { cause: error },
      );
    },
  );
}

/** The container's worker in this process, with `local`'s options as its settings. */
function startLocalWorker(
  aws: LocalAws,
  classifier: ImageClassifier,
  options: LocalOptions,
  layout: KeyLayout,
  quiet: Logger,
): InProcessWorker {
  return startInProcessWorker({
    aws,
    classifier,
    logger: quiet,
    settings: {
      uploadsPrefix: layout.uploadsPrefix,
      resultsPrefix: layout.resultsPrefix,
      maxBatch: options.batchSize,
      receiveWaitSeconds: 2,
      shutdownGraceSeconds: 10,
      maxImageBytes: options.maxBytes,
      maxImagePixels: options.maxPixels,
      topK: options.topK,
    },
  });
}
