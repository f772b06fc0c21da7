import { PipelineError } from '../../common/errors.js';

/** `jobs status <id>` (or a record) names a job the table does not hold. */
export class JobNotFoundError extends PipelineError {
  constructor(jobId: string) {
    super('JOB_NOT_FOUND', `no job ${jobId} in the jobs table (jobs list shows the recent ones)`, {
      context: { jobId },
    });
  }
}

/** A prefix is submitted while a job over it has not completed. */
export class JobAlreadyRunningError extends PipelineError {
  constructor(
    readonly source: string,
    readonly runningJobId: string,
  ) {
    super(
      'JOB_ALREADY_RUNNING',
      `${source} already has a running job, ${runningJobId}: follow it with \`jobs status ${runningJobId}\`, or finish an interrupted one with \`submit --resume ${runningJobId}\``,
      { context: { source, runningJobId } },
    );
  }
}
