import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { hasImageExtension } from '../../model/image-formats.js';
import { explainAwsError } from '../target/aws-errors.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { integerInRange } from '../support/option-parsers.js';
import { addTargetOptions, resolveTarget } from '../target/target.js';
import { FORMATS, isFailure, showOne, showPrefix, type ResultsOptions } from '../results/show-results.js';

/** `results <key or prefix>`: one image's result JSON, or a summary of every result under a prefix. */
export function resultsCommand(logger: Logger): Command {
  const command = new Command('results')
    .description(
      "show one image's result (a key such as uploads/cats/tabby.jpg) or a summary of every image under a prefix (e.g. cats/)",
    )
    .argument(
      '<key-or-prefix>',
      'an image key (with or without the uploads/ prefix, or as s3://bucket/key, also of a source bucket), a result key, or a folder prefix',
    )
    .addOption(new Option('--wait', 'poll until the results exist'))
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting after this long')
        .argParser(integerInRange(1, 86_400))
        .default(300),
    )
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('table'));
  addTargetOptions(command).action(async (keyOrPrefix: string, options: ResultsOptions) => {
    const target = await resolveTarget(options, ['bucket']);
    const argument = keyOrPrefix;
    try {
      const shown =
        hasImageExtension(argument) || argument.endsWith('.json')
          ? await showOne(target, argument, options)
          : await showPrefix(target, argument, options, logger);
      // As `local` and `classify` do: 2 when some images could not be classified (an error result, or one unreadable).
      process.exitCode = shown.some(isFailure) ? EXIT.someFailed : EXIT.ok;
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw explainAwsError(error, { bucket: target.bucket, endpoint: target.endpoint, profile: target.profile });
    }
  });
  return command;
}
