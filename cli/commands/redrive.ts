import { Command, Option } from 'commander';
import { explainAwsError } from '../target/aws-errors.js';
import { CliError } from '../support/cli-error.js';
import { redriveDeadLetters } from '../redrive/dead-letter-redrive.js';
import { integerInRange } from '../support/option-parsers.js';
import { addTargetOptions, resolveTarget, type TargetOptions } from '../target/target.js';

interface RedriveOptions extends TargetOptions {
  timeout: number;
}

/** `redrive`: moves dead-lettered messages back to the main queue, each at most once per run. */
export function redriveCommand(): Command {
  const command = new Command('redrive')
    .description('move dead-lettered messages back to the main queue (on AWS with an SQS message move task)')
    .addOption(
      new Option('--timeout <seconds>', 'give up waiting for the move task after this long')
        .argParser(integerInRange(1, 86_400))
        .default(300),
    );
  addTargetOptions(command).action(async (options: RedriveOptions) => {
    const target = await resolveTarget(options, ['queue', 'dlq']);
    try {
      const report = await redriveDeadLetters({
        sqs: target.sqs,
        queueUrl: target.queueUrl!,
        deadLetterQueueUrl: target.dlqUrl!,
        timeoutSeconds: options.timeout,
      });
      const plural = (count: number) => (count === 1 ? '' : 's');
      process.stdout.write(
        `moved ${report.moved} message${plural(report.moved)} from the dead-letter queue to the queue${report.method === 'move-task' ? ' (SQS message move task)' : ''}\n`,
      );
      if (report.cameBack > 0) {
        process.stdout.write(
          `${report.cameBack} message${plural(report.cameBack)} failed again and went back to the dead-letter queue during this run; left there (inspect ${report.cameBack === 1 ? 'it' : 'them'}: they do not get better by moving)\n`,
        );
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      throw explainAwsError(error, { queueUrl: target.dlqUrl, endpoint: target.endpoint, profile: target.profile });
    }
  });
  return command;
}
