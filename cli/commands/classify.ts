import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { configureImageDecoding } from '../../model/index.js';
import { addModelOptions } from '../classify/model-options.js';
import { runClassify, type ClassifyCommandOptions } from '../classify/run-classify.js';

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
