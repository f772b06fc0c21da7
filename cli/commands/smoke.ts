import { Command, Option } from 'commander';
import { CliError, EXIT } from '../support/cli-error.js';
import { integerInRange } from '../support/option-parsers.js';
import { UNTRAINED_NOTICE } from '../results/result-format.js';
import { addTargetOptions, resolveTarget, type TargetOptions } from '../target/target.js';
import { runCanary, smokeProblems } from '../deploy-checks/smoke-checks.js';

interface SmokeOptions extends TargetOptions {
  timeout: number;
}

/**
 * `smoke`: after a deploy (or against `--local`), uploads the sample cat below a unique prefix,
 * waits for its result, prints the time to result (the cold start when the stack was idle), the
 * device, whether the weights are pretrained and the top label, and removes its canary objects.
 */
export function smokeCommand(): Command {
  const command = new Command('smoke')
    .description(
      'after a deploy: upload a canary image, wait for its result, report time, device and label, and clean up',
    )
    .addOption(
      new Option(
        '--timeout <seconds>',
        'give up waiting for the result after this long (a cold start from zero instances takes minutes)',
      )
        .argParser(integerInRange(1, 86_400))
        .default(900),
    );
  addTargetOptions(command).action(async (options: SmokeOptions) => {
    const target = await resolveTarget(options, ['bucket']).catch((error: unknown) => {
      if (error instanceof CliError)
        throw new CliError(`smoke needs a pipeline: ${error.message.replace(/^no pipeline to talk to: /, '')}`, {
          cause: error,
        });
      throw error;
    });
    const { result, started } = await runCanary(target, options.timeout);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const top =
      result.status === 'ok'
        ? `${result.labels[0]!.label} (${result.labels[0]!.score.toFixed(3)})`
        : `error ${result.error.code}`;
    process.stdout.write(
      `result after ${seconds} s: ${top} on ${result.device}, weights ${result.model.weights} (${result.model.pretrained ? 'pretrained' : 'NOT pretrained'}); canary objects removed\n`,
    );
    if (!result.model.pretrained) process.stdout.write(`${UNTRAINED_NOTICE}\n`);
    const problems = smokeProblems(result, target.kind);
    if (problems.length > 0) throw new CliError(problems.join('; '), { exitCode: EXIT.error });
  });
  return command;
}
