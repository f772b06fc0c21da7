import { createDynamoDbClient } from '../../common/dynamodb-client.js';
import { JobStore } from '../../pipeline/jobs/job-store.js';
import { isJobId } from '../../pipeline/jobs/job-table.js';
import { PipelineError } from '../../common/errors.js';
import { CliError } from '../support/cli-error.js';
import { explainAwsError } from '../target/aws-errors.js';
import type { Target } from '../target/target.js';

/** The jobs table of a target, or what to do when it has none. The caller destroys the store's client. */
export function jobStoreFor(target: Target): { store: JobStore; close: () => void } {
  if (!target.jobsTable)
    throw new CliError(
      'no jobs table: deploy this version of the stack (its output JobsTableName in cdk-outputs.json), pass --jobs-table or JOBS_TABLE, or use --local',
      { code: 'NO_JOBS_TABLE' },
    );
  const dynamo = createDynamoDbClient(target.clientOptions);
  return { store: new JobStore(dynamo, target.jobsTable), close: () => dynamo.destroy() };
}

/** A job id as the user typed it, checked before any request. */
export function checkedJobId(text: string): string {
  if (!isJobId(text))
    throw new CliError(
      `"${text}" is not a job id (they look like job-20261205T233308Z-6eda9233; \`jobs list\` shows them)`,
      {
        code: 'INVALID_JOB_ID',
      },
    );
  return text;
}

/** A failure of a jobs command as one line: job errors as they are, a missing table named, AWS errors explained. */
export function explainJobsError(error: unknown, target: Target): unknown {
  if (error instanceof PipelineError) return error;
  if ((error as { name?: string }).name === 'ResourceNotFoundException')
    return new CliError(
      `the jobs table ${target.jobsTable} does not exist${target.endpoint ? ` at ${target.endpoint}` : ''}: deploy this version of the stack, or check --jobs-table / JOBS_TABLE`,
      { cause: error, code: 'NO_JOBS_TABLE' },
    );
  return explainAwsError(error, {
    bucket: target.bucket,
    queueUrl: target.queueUrl,
    endpoint: target.endpoint,
    profile: target.profile,
  });
}
