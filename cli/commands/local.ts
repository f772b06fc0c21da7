import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { projectRoot } from '../../common/paths.js';
import { loadWorkerConfig } from '../../functions/worker/config.js';
import { resultKeyFor } from '../../functions/worker/object-keys.js';
import type { ResultDocument } from '../../functions/worker/result-document.js';
import { Worker } from '../../functions/worker/worker.js';
import { LocalAws } from '../../local/local-aws.js';
import { ImageClassifier } from '../../model/index.js';
import { listKeys, readResult } from '../bucket-reader.js';
import { CliError, EXIT } from '../cli-error.js';
import { removeLocalState, writeLocalState } from '../local-state.js';
import { addModelOptions, classifierOptionsFrom, type ModelCommandOptions } from '../model-options.js';
import { integerInRange } from '../option-parsers.js';
import { UNTRAINED_NOTICE } from '../result-format.js';
import { keyLayout, localTarget, type Target } from '../target.js';
import { planUploads, uploadAll } from './upload.js';

/** The images `npm start` classifies when none are given. */
export const SAMPLE_IMAGES_FOLDER = path.join(projectRoot, 'samples');

interface LocalOptions extends ModelCommandOptions {
  serve?: boolean;
  port: number;
  out: string;
  timeout: number;
}

/**
 * `local [files or folders...]`: the whole pipeline on this machine — embedded S3 and SQS on
 * loopback, S3 notifications, the worker in this process — on the given images (default: the
 * samples). Prints each result as it is stored, then writes them all as JSONL.
 */
export function localCommand(logger: Logger): Command {
  const command = new Command('local')
    .description('run the whole pipeline locally (embedded S3 + SQS on loopback, worker in-process) on images, default: the samples')
    .argument('[paths...]', 'image files or folders (default: the sample images shipped with the project)')
    .addOption(new Option('--serve', 'keep running so that other terminals can use upload/results/status/redrive --local'))
    .addOption(new Option('--port <port>', 'loopback port of the embedded S3/SQS (0 picks a free one)').argParser(integerInRange(0, 65535)).default(0))
    .addOption(new Option('--out <file>', 'where to write all results as JSONL').default('alexnet-results.jsonl'))
    .addOption(new Option('--timeout <seconds>', 'give up waiting for results after this long').argParser(integerInRange(1, 86_400)).default(120));
  addModelOptions(command).action(async (paths: string[], options: LocalOptions) => {
    process.exitCode = await runLocal(paths, options, logger);
  });
  return command;
}

async function runLocal(paths: string[], options: LocalOptions, logger: Logger): Promise<number> {
  const quiet = logger.child({}, { level: process.env.LOG_LEVEL ?? 'warn' });
  const givenPaths = paths.length > 0 ? paths : options.serve ? [] : [SAMPLE_IMAGES_FOLDER];
  const layout = keyLayout();
  const aws = await LocalAws.start({ port: options.port, uploadsPrefix: layout.uploadsPrefix, logger: quiet }).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(error.code === 'EADDRINUSE' ? `port ${options.port} is in use: pick another with --port` : `the embedded S3/SQS could not start: ${error.message}`, { cause: error });
  });
  const classifier = await ImageClassifier.load({ ...classifierOptionsFrom(options) }, logger);
  const target = localTarget(aws);
  const config = loadWorkerConfig({
    ...aws.environment(),
    UPLOADS_PREFIX: layout.uploadsPrefix,
    RESULTS_PREFIX: layout.resultsPrefix,
    MAX_BATCH: String(options.batchSize),
    RECEIVE_WAIT_SECONDS: '2',
    SHUTDOWN_GRACE_SECONDS: '10',
    MAX_IMAGE_BYTES: String(options.maxBytes),
    MAX_IMAGE_PIXELS: String(options.maxPixels),
  });
  const worker = new Worker(config, { s3: target.s3, sqs: target.sqs, classifier, logger: quiet });
  worker.start();
  const shutDown = async () => {
    await worker.stop();
    await classifier.dispose();
    await aws.stop();
    await removeLocalState();
  };

  try {
    if (options.serve) return await serve(target, aws, givenPaths, logger);
    const { uploads, skipped } = await planUploads(givenPaths, target.layout.uploadsPrefix);
    for (const file of skipped) logger.warn({ file }, 'skipped: not an image (jpg, jpeg, png, webp, gif, tif, tiff, avif)');
    if (uploads.length === 0) throw new CliError('no images to classify among the given paths');
    const uploadedAt = Date.now();
    const keys = await uploadAll(target, uploads);
    return await printResultsAsTheyArrive(target, keys, uploadedAt, options, classifier.model.pretrained);
  } finally {
    await shutDown();
  }
}

async function serve(target: Target, aws: LocalAws, paths: string[], logger: Logger): Promise<number> {
  const stateFile = await writeLocalState({ endpoint: aws.endpoint, region: aws.region, bucket: aws.bucket, queueUrl: aws.queueUrl, dlqUrl: aws.dlqUrl, pid: process.pid });
  if (paths.length > 0) {
    const { uploads } = await planUploads(paths, target.layout.uploadsPrefix);
    await uploadAll(target, uploads);
  }
  const exports = Object.entries(aws.environment()).map(([name, value]) => `export ${name}=${value}`);
  process.stdout.write(
    [
      `Local pipeline running at ${aws.endpoint} (embedded S3 + SQS on loopback, worker in this process). Ctrl-C stops it.`,
      `  bucket: ${aws.bucket}   queue: ${aws.queueUrl}`,
      '',
      'In another terminal, from this folder:',
      '  npx alexnet-pipeline upload --local <files or folders> [--prefix cats/]',
      '  npx alexnet-pipeline results --local <key or prefix> --wait',
      '  npx alexnet-pipeline status --local',
      '  npx alexnet-pipeline redrive --local',
      '',
      'Or from anywhere, with the standard AWS variables (commands then need no --local):',
      ...exports.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  logger.debug({ stateFile }, 'local state written');
  const signal = await Promise.race([once(process, 'SIGINT').then(() => 'SIGINT'), once(process, 'SIGTERM').then(() => 'SIGTERM')]);
  logger.info({ signal }, 'stopping the local pipeline');
  return EXIT.ok;
}

async function printResultsAsTheyArrive(target: Target, keys: readonly string[], uploadedAt: number, options: LocalOptions, pretrained: boolean): Promise<number> {
  const pending = new Map(keys.map((key) => [resultKeyFor(key, target.layout), key]));
  const results: ResultDocument[] = [];
  const width = Math.min(48, Math.max(5, ...keys.map((key) => key.length - target.layout.uploadsPrefix.length)));
  const row = (image: string, label: string, score: string, latency: string) =>
    `${image.padEnd(width)}  ${label.padEnd(28)}  ${score.padStart(6)}  ${latency.padStart(8)}`;
  if (!pretrained) process.stdout.write(`${UNTRAINED_NOTICE}\n\n`);
  process.stdout.write(`${row('image', 'top label', 'score', 'latency')}\n`);
  const deadline = Date.now() + options.timeout * 1000;
  while (pending.size > 0) {
    if (Date.now() > deadline) throw new CliError(`timed out after ${options.timeout} s with ${pending.size} results missing`, { exitCode: EXIT.notReady });
    const stored = (await listKeys(target.s3, target.bucket, target.layout.resultsPrefix)).filter((key) => pending.has(key));
    for (const resultKey of stored) {
      const result = await readResult(target.s3, target.bucket, resultKey);
      if (!result) continue;
      pending.delete(resultKey);
      results.push(result);
      const image = result.source.key.slice(target.layout.uploadsPrefix.length);
      const latency = `${Math.max(0, Date.parse(result.processedAt) - uploadedAt)} ms`;
      if (result.status === 'ok') process.stdout.write(`${row(image, result.labels[0]!.label, result.labels[0]!.score.toFixed(3), latency)}\n`);
      else process.stdout.write(`${row(image, `error ${result.error.code}`, '', latency)}\n`);
    }
    if (pending.size > 0) await sleep(100);
  }
  const out = createWriteStream(options.out);
  for (const result of results) out.write(`${JSON.stringify(result)}\n`);
  await new Promise<void>((resolve) => out.end(() => resolve()));
  const failed = results.filter((result) => result.status === 'error').length;
  process.stdout.write(`\n${results.length} results (${failed} errors) written to ${path.resolve(options.out)}\n`);
  if (!pretrained) process.stdout.write(`${UNTRAINED_NOTICE}\n`);
  return failed === 0 ? EXIT.ok : EXIT.someFailed;
}
