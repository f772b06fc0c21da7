import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { configureImageDecoding } from '../../model/index.js';
import { addModelOptions } from '../classify/model-options.js';
import { bucketNameList, integerInRange } from '../support/option-parsers.js';
import { runLocal, type LocalOptions } from '../local/run-local.js';

/**
 * `local [files or folders...]`: the whole pipeline on this machine — embedded S3 and SQS on
 * loopback, S3 notifications, the worker in this process — on the given images (default: the
 * samples). Prints each result as it is stored, then writes them all as JSONL. With `--serve` it
 * keeps running for other terminals; with `--serve --no-worker` it runs the emulator alone.
 */
export function localCommand(logger: Logger): Command {
  const command = new Command('local')
    .description(
      'run the whole pipeline locally (embedded S3 + SQS on loopback, worker in-process) on images, default: the samples',
    )
    .argument('[paths...]', 'image files or folders (default: the sample images shipped with the project)')
    .addOption(
      new Option('--serve', 'keep running so that other terminals can use upload/results/status/redrive --local'),
    )
    .addOption(
      new Option(
        '--no-worker',
        'with --serve: the emulator alone, for a worker run as its own process (node dist/functions/worker/main.js)',
      ),
    )
    .addOption(
      new Option('--port <port>', 'loopback port of the embedded S3/SQS (0 picks a free one)')
        .argParser(integerInRange(0, 65535))
        .default(0),
    )
    .addOption(
      new Option('--gallery-port <port>', 'with --serve: loopback port of the web gallery (0 picks a free one)')
        .argParser(integerInRange(0, 65535))
        .default(0),
    )
    .addOption(
      new Option(
        '--source-buckets <names>',
        'other buckets to make in the emulator, whose images `submit --local s3://<bucket>/…` may name (as `cdk deploy -c sourceBuckets` does)',
      ).argParser(bucketNameList),
    )
    .addOption(new Option('--out <file>', 'where to write all results as JSONL').default('alexnet-results.jsonl'))
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting for results after this long')
        .argParser(integerInRange(1, 86_400))
        .default(120),
    );
  addModelOptions(command).action(async (paths: string[], options: LocalOptions) => {
    configureImageDecoding();
    process.exitCode = await runLocal(paths, options, logger);
  });
  return command;
}
