import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { checkFileSize, classifyImages, configureImageDecoding, describeImageExtensions, ImageClassifier, ImageError, type ImageSource, type PreprocessOptions } from '../../model/index.js';
import { buildResult } from '../../pipeline/result-document.js';
import { resultFingerprint } from '../../pipeline/result-fingerprint.js';
import { CliError } from '../cli-error.js';
import { collectImageFiles, warnSkipped } from '../image-files.js';
import { checkOutputFile } from '../output-file.js';
import { addModelOptions, classifierOptionsFrom, preprocessOptionsFrom, type ModelCommandOptions } from '../model-options.js';
import { createProgress } from '../progress-bar.js';

/** Exit statuses of `classify`. */
export const CLASSIFY_EXIT = { allClassified: 0, usage: 1, someFailed: 2 } as const;

interface ClassifyCommandOptions extends ModelCommandOptions {
  out?: string;
}

/** `classify <files or folders...>`: labels local images, one JSON line each, in input order. */
export function classifyCommand(logger: Logger): Command {
  const command = new Command('classify')
    .description('label local image files (no AWS involved); one JSON line per image on stdout, in input order')
    .argument('<paths...>', 'image files or folders (folders are searched recursively for images)')
    .addOption(new Option('--out <file>', 'write the JSON lines to this file instead of stdout'));
  addModelOptions(command).action(async (paths: string[], options: ClassifyCommandOptions) => {
    configureImageDecoding();
    process.exitCode = await runClassify(paths, options, logger);
  });
  return command;
}

async function runClassify(paths: string[], options: ClassifyCommandOptions, logger: Logger): Promise<number> {
  if (options.out) await checkOutputFile(options.out);
  const found = await collectImageFiles(paths, { keepNamedPaths: true });
  warnSkipped(logger, found.skipped);
  const files = found.files.map((entry) => entry.file);
  if (files.length === 0) throw new CliError(`no image files in ${paths.join(', ')} (images end in ${describeImageExtensions()})`);
  const classifier = await ImageClassifier.load(classifierOptionsFrom(options), logger);
  const output = options.out ? createWriteStream(options.out) : process.stdout;
  const progress = createProgress(files.length, 'classify');
  const preprocess = preprocessOptionsFrom(options);
  const fingerprint = resultFingerprint({ modelSha256: classifier.model.sha256, topK: classifier.topK, maxImageBytes: options.maxBytes, maxImagePixels: options.maxPixels });
  let failed = 0;
  try {
    const sources = files.map((file) => fileImageSource(file, preprocess));
    for await (const { source, outcome, timings } of classifyImages(sources, classifier, { batchSize: options.batchSize, preprocess })) {
      if (outcome.status === 'error') failed++;
      const line = JSON.stringify(buildResult({ file: source.name }, { outcome, model: classifier.model, fingerprint, device: classifier.device, timings, processedAt: new Date() }));
      if (!output.write(`${line}\n`)) await once(output, 'drain');
      progress.increment();
    }
  } finally {
    progress.stop();
    await classifier.dispose();
    if (output !== process.stdout) await new Promise<void>((resolve) => output.end(() => resolve()));
  }
  logger.info({ images: files.length, failed, out: options.out ?? 'stdout', pretrained: classifier.model.pretrained }, 'classify finished');
  return failed === 0 ? CLASSIFY_EXIT.allClassified : CLASSIFY_EXIT.someFailed;
}

/** A local file as an image source; a missing or oversized file becomes an {@link ImageError}. */
export function fileImageSource(file: string, limits: PreprocessOptions = {}): ImageSource {
  return {
    name: file,
    async read() {
      try {
        const info = await stat(file);
        if (!info.isFile()) throw new ImageError('READ_FAILED', `${file} is not a regular file`);
        if (limits.maxBytes !== undefined) checkFileSize(info.size, limits.maxBytes, { file });
        return await readFile(file);
      } catch (error) {
        if (error instanceof ImageError) throw error;
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new ImageError('FILE_NOT_FOUND', `${file} does not exist`, { cause: error });
        throw new ImageError('READ_FAILED', `${file} cannot be read: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
