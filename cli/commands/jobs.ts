import { Command, Option } from 'commander';
import { JobNotFoundError } from '../../pipeline/jobs/job-errors.js';
import { queueDepth } from '../../pipeline/sqs-operations.js';
import { checkedJobId, explainJobsError, jobStoreFor } from '../jobs/job-store-target.js';
import { jobListTable, jobStatusDocument, jobStatusTable } from '../jobs/job-report.js';
import { integerInRange } from '../support/option-parsers.js';
import { addTargetOptions, jobsTableOption, resolveTarget, type Target, type TargetOptions } from '../target/target.js';

interface JobsOptions extends TargetOptions {
  format: 'table' | 'json';
  limit: number;
}

/** `jobs status <id>` and `jobs list`: the jobs table, read with a constant number of requests. */
export function jobsCommand(): Command {
  const command = new Command('jobs').description('the jobs `submit` made: their progress, counts and times');
  const withOptions = (sub: Command) =>
    addTargetOptions(
      sub
        .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
        .addOption(jobsTableOption()),
    );
  command.addCommand(
    withOptions(
      new Command('status')
        .description(
          'one job: images, enqueued, stored, errors, skipped, already stored, remaining, times, images/s (one GetItem)',
        )
        .argument('<job id>', 'as `submit` printed it'),
    ).action(async (id: string, options: JobsOptions) => {
      const jobId = checkedJobId(id);
      await withStore(options, async (store, target) => {
        const [job, deadLetters] = await Promise.all([
          store.get(jobId),
          target.dlqUrl ? queueDepth(target.sqs, target.dlqUrl).catch(() => undefined) : undefined,
        ]);
        if (!job) throw new JobNotFoundError(jobId);
        const dlq = deadLetters ? deadLetters.visible + deadLetters.inFlight : undefined;
        process.stdout.write(
          options.format === 'json'
            ? `${JSON.stringify(jobStatusDocument(job, dlq), null, 2)}\n`
            : `${jobStatusTable(job, dlq)}\n`,
        );
      });
    }),
  );
  command.addCommand(
    withOptions(
      new Command('list')
        .description('the most recent jobs, newest first')
        .addOption(new Option('--limit <n>', 'how many').argParser(integerInRange(1, 100)).default(20)),
    ).action(async (options: JobsOptions) => {
      await withStore(options, async (store) => {
        const jobs = await store.recent(options.limit);
        if (options.format === 'json')
          process.stdout.write(
            `${JSON.stringify(
              jobs.map((job) => jobStatusDocument(job)),
              null,
              2,
            )}\n`,
          );
        else process.stdout.write(jobs.length === 0 ? 'no jobs yet: `submit` makes one\n' : `${jobListTable(jobs)}\n`);
      });
    }),
  );
  return command;
}

async function withStore(
  options: JobsOptions,
  work: (store: ReturnType<typeof jobStoreFor>['store'], target: Target) => Promise<void>,
): Promise<void> {
  const target = await resolveTarget(options, []);
  const { store, close } = jobStoreFor(target);
  try {
    await work(store, target);
  } catch (error) {
    throw explainJobsError(error, target);
  } finally {
    close();
    target.s3.destroy();
    target.sqs.destroy();
  }
}
