import { Command, Option } from 'commander';
import type { Logger } from '../../common/logger.js';
import { PARAMETER_DEFAULTS } from '../../pipeline/deploy-parameters.js';
import { runSubmit } from '../jobs/run-submit.js';
import { integerInRange } from '../support/option-parsers.js';
import { InvalidArgumentError } from 'commander';
import { addTargetOptions, jobsTableOption, resolveTarget, type TargetOptions } from '../target/target.js';

interface SubmitCommandOptions extends TargetOptions {
  dryRun?: boolean;
  wait?: boolean;
  resume?: string;
  timeout?: number;
  instances: number;
  stale?: boolean;
  fingerprint?: string;
  inventory?: string;
}

/** `submit <prefix>`: a job over images already in the bucket. */
export function submitCommand(logger: Logger): Command {
  const command = new Command('submit')
    .description('label images already in the bucket: list a prefix, enqueue every image as one job, follow it')
    .argument('[prefix]', 's3://bucket/prefix/, or a folder of the pipeline bucket (uploads/cats/ or cats/)')
    .addOption(new Option('--dry-run', 'count the images and estimate time and cost; enqueue nothing'))
    .addOption(
      new Option('--wait', 'follow the job until every image has its result (exit 2 if some are error results)'),
    )
    .addOption(
      new Option(
        '--stale',
        "only the images whose result is missing, or was computed for other bytes or by another model or settings than the workers' (after a model change)",
      ),
    )
    .addOption(
      new Option(
        '--fingerprint <hex>',
        'with --stale: the fingerprint to compare with (the fingerprint field of a result), instead of the one the workers last started with',
      ).argParser(fingerprintArgument),
    )
    .addOption(
      new Option(
        '--inventory <manifest.json>',
        'read the images from an S3 Inventory report (s3://…/manifest.json, CSV or Parquet) instead of listing; a prefix argument narrows it',
      ),
    )
    .addOption(new Option('--resume <job id>', 'finish a job that was interrupted (nothing is enqueued twice)'))
    .addOption(
      new Option('--timeout <seconds>', 'with --wait: give up after this long (exit 3)').argParser(
        integerInRange(1, 7 * 86_400),
      ),
    )
    .addOption(
      new Option('--instances <n>', "GPU instances the --dry-run estimate assumes (the stack's maxInstances)")
        .argParser(integerInRange(1, 1000))
        .default(PARAMETER_DEFAULTS.maxInstances),
    )
    .addOption(jobsTableOption());
  addTargetOptions(command).action(async (prefix: string | undefined, options: SubmitCommandOptions) => {
    const target = await resolveTarget(options, options.dryRun ? ['bucket'] : ['bucket', 'queue']);
    try {
      process.exitCode = await runSubmit(prefix, target, {
        dryRun: options.dryRun,
        wait: options.wait,
        resume: options.resume,
        timeoutSeconds: options.timeout,
        instances: options.instances,
        stale: options.stale,
        fingerprint: options.fingerprint,
        inventory: options.inventory,
        logger,
      });
    } finally {
      target.s3.destroy();
      target.sqs.destroy();
    }
  });
  return command;
}

/** A result fingerprint: 32 hexadecimal digits (see `resultFingerprint`). */
function fingerprintArgument(value: string): string {
  if (!/^[0-9a-f]{32}$/.test(value))
    throw new InvalidArgumentError(
      'must be a result fingerprint: 32 hexadecimal digits (the fingerprint field of a result).',
    );
  return value;
}
