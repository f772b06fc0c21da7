import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Logger } from '../../common/logger.js';
import { classifyImages, describeImageExtensions, ImageClassifier } from '../../model/index.js';
import { buildResult } from '../../pipeline/result-document.js';
import { resultFingerprint } from '../../pipeline/result-fingerprint.js';
import { CliError } from '../support/cli-error.js';
import { collectImageFiles, warnSkipped } from './image-files.js';
import { checkOutputFile } from '../support/output-file.js';
import { classifierOptionsFrom, preprocessOptionsFrom, type ModelCommandOptions } from './model-options.js';
import { createProgress } from '../support/progress-bar.js';
import { fileImageSource } from './file-image-source.js';

/** Exit statuses of `classify`. */
export const CLASSIFY_EXIT = { allClassified: 0, usage: 1, someFailed: 2 } as const;

export interface ClassifyCommandOptions extends ModelCommandOptions {
  out?: string;
}

export async function runClassify(paths: string[], options: ClassifyCommandOptions, logger: Logger): Promise<number> {
  if (options.out) await checkOutputFile(options.out);
  const found = await collectImageFiles(paths, { keepNamedPaths: true });
  warnSkipped(logger, found.skipped);
  const files = found.files.map((entry) => entry.file);
  if (files.length === 0)
    throw new CliError(`no image files in ${paths.join(', ')} (images end in ${describeImageExtensions()})`);
  const classifier = await ImageClassifier.load(classifierOptionsFrom(options), logger);
  const output = options.out ? createWriteStream(options.out) : process.stdout;
  const progress = createProgress(files.length, 'classify');
  const preprocess = preprocessOptionsFrom(options);
  const fingerprint = resultFingerprint({
    modelSha256: classifier.model.sha256,
    topK: classifier.topK,
    maxImageBytes: options.maxBytes,
    maxImagePixels: options.maxPixels,
  });
  let failed = 0;
  try {
    const sources = files.map((file) => fileImageSource(file, preprocess));
    for await (const { source, outcome, timings } of classifyImages(sources, classifier, {
      batchSize: options.batchSize,
      preprocess,
    })) {
      if (outcome.status === 'error') failed++;
      const line = JSON.stringify(
        buildResult(
          { file: source.name },
          {
            outcome,
            model: classifier.model,
            fingerprint,
            device: classifier.device,
            timings,
            processedAt: new Date(),
          },
        ),
      );
      if (!output.write(`${line}\n`)) await once(output, 'drain');
      progress.increment();
    }
  } finally {
    progress.stop();
    await classifier.dispose();
    if (output !== process.stdout) await new Promise<void>((resolve) => output.end(() => resolve()));
  }
  logger.info(
    { images: files.length, failed, out: options.out ?? 'stdout', pretrained: classifier.model.pretrained },
    'classify finished',
  );
  return failed === 0 ? CLASSIFY_EXIT.allClassified : CLASSIFY_EXIT.someFailed;
}
