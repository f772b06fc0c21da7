import { existsSync, readFileSync } from 'node:fs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { Option, type Command } from 'commander';
import { createS3Client, createSqsClient, type AwsClientOptions } from '../../common/aws-clients.js';
import { DEFAULT_KEY_LAYOUT, keyLayoutProblems, type KeyLayout } from '../../pipeline/object-keys.js';
import { DEFAULT_STACK_NAME, NO_SOURCE_BUCKETS, STACK_OUTPUT } from '../../pipeline/stack-outputs.js';
import { WORKER_ENVIRONMENT } from '../../pipeline/worker-settings.js';
import { CliError } from '../support/cli-error.js';
import { isLoopback } from '../support/loopback.js';
import { isRunning } from '../../common/process-alive.js';
import { readLocalState, type LocalServeState } from '../local/local-state.js';

/** Options every command that talks to a pipeline accepts. */
export interface TargetOptions {
  local?: boolean;
  bucket?: string;
  queueUrl?: string;
  dlqUrl?: string;
  outputsFile?: string;
  stack?: string;
  region?: string;
  profile?: string;
  endpointUrl?: string;
  jobsTable?: string;
}

/** A pipeline to talk to: the running `local --serve`, or a deployed stack. */
export interface Target {
  readonly description: string;
  /** `local`: an emulator on this machine (`--local`, or an endpoint on loopback); `aws`: a deployed stack. */
  readonly kind: 'local' | 'aws';
  readonly bucket: string;
  readonly queueUrl?: string;
  readonly dlqUrl?: string;
  readonly endpoint?: string;
  readonly layout: KeyLayout;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /** How the clients connect: for the other clients a command makes (DynamoDB's for jobs). */
  readonly clientOptions: AwsClientOptions;
  /** The DynamoDB table of jobs: the local pipeline's, the stack's output, `--jobs-table` or `JOBS_TABLE`. */
  readonly jobsTable?: string;
  /**
   * Other buckets whose images jobs may name: the stack's `-c sourceBuckets` (its output), the local
   * pipeline's `--source-buckets`, or `SOURCE_BUCKETS`.
   */
  readonly sourceBuckets: readonly string[];
  /** The AWS profile the clients use (`--profile` or `AWS_PROFILE`), to name it in error messages. */
  readonly profile?: string;
  /** A deployed stack's Athena resources (from its outputs), for `query --engine athena`. */
  readonly athena?: { readonly database: string; readonly workGroup: string };
}

/** Adds `--local`, `--bucket`, `--queue-url`, `--dlq-url`, `--outputs-file`, `--stack`, `--region`, `--endpoint-url`. */
export function addTargetOptions(command: Command): Command {
  return command
    .addOption(new Option('--local', 'use the pipeline started by `alexnet-pipeline local --serve`'))
    .addOption(new Option('--bucket <name>', 'S3 bucket').env(WORKER_ENVIRONMENT.bucketName))
    .addOption(new Option('--queue-url <url>', 'SQS queue URL').env(WORKER_ENVIRONMENT.queueUrl))
    .addOption(new Option('--dlq-url <url>', 'dead-letter queue URL').env(WORKER_ENVIRONMENT.deadLetterQueueUrl))
    .addOption(new Option('--outputs-file <file>', 'CDK outputs file (default: ./cdk-outputs.json when it exists)'))
    .addOption(new Option('--stack <name>', 'stack name inside the outputs file').default(DEFAULT_STACK_NAME))
    .addOption(new Option('--region <region>', 'AWS region (default: the SDK chain, e.g. AWS_REGION)'))
    .addOption(new Option('--profile <name>', 'AWS profile from ~/.aws/config (default: AWS_PROFILE)'))
    .addOption(new Option('--endpoint-url <url>', 'S3/SQS endpoint (default: AWS_ENDPOINT_URL or AWS)'));
}

/** `--jobs-table` (or `JOBS_TABLE`), for the commands that make or follow jobs. */
export function jobsTableOption(): Option {
  return new Option('--jobs-table <name>', 'DynamoDB table of jobs (default: the stack output JobsTableName)').env(
    WORKER_ENVIRONMENT.jobsTable,
  );
}

type Need = 'bucket' | 'queue' | 'dlq';

/**
 * The key layout: what a deployed stack's outputs say, else the worker's variables
 * (`UPLOADS_PREFIX`, `RESULTS_PREFIX`), else the defaults. A bad prefix stops with a message.
 */
export function keyLayout(outputs?: Readonly<Record<string, string>>): KeyLayout {
  const layout = {
    uploadsPrefix:
      outputs?.[STACK_OUTPUT.uploadsPrefix] ??
      process.env[WORKER_ENVIRONMENT.uploadsPrefix] ??
      DEFAULT_KEY_LAYOUT.uploadsPrefix,
    resultsPrefix:
      outputs?.[STACK_OUTPUT.resultsPrefix] ??
      process.env[WORKER_ENVIRONMENT.resultsPrefix] ??
      DEFAULT_KEY_LAYOUT.resultsPrefix,
  };
  const [problem] = keyLayoutProblems(layout);
  if (problem)
    throw new CliError(`the ${problem.field === 'uploadsPrefix' ? 'uploads' : 'results'} prefix ${problem.message}`);
  return layout;
}

/** The target for an embedded emulator (`local`, or `--local` in another terminal). */
export function localTarget(emulator: Omit<LocalServeState, 'pid'>): Target {
  const clientOptions = { endpoint: emulator.endpoint, region: emulator.region, credentials: emulator.credentials };
  return {
    description: `local pipeline at ${emulator.endpoint}`,
    kind: 'local',
    bucket: emulator.bucket,
    queueUrl: emulator.queueUrl,
    dlqUrl: emulator.dlqUrl,
    endpoint: emulator.endpoint,
    layout: emulator.layout,
    s3: createS3Client(clientOptions),
    sqs: createSqsClient(clientOptions),
    clientOptions,
    jobsTable: emulator.jobsTable,
    // A state file written before source buckets existed has none.
    sourceBuckets: emulator.sourceBuckets ?? [],
  };
}

/**
 * Picks the pipeline: `--local` → flags and environment → the CDK outputs file. Says what to do
 * when something it needs is missing.
 */
export async function resolveTarget(options: TargetOptions, needs: readonly Need[]): Promise<Target> {
  if (options.local) {
    const state = await readLocalState();
    if (!state || !isRunning(state.pid)) {
      throw new CliError(
        'no local pipeline is running: start `alexnet-pipeline local --serve` (or `npm start -- --serve`) in another terminal',
      );
    }
    return localTarget(state);
  }
  const outputs = readStackOutputs(options);
  // An empty flag or variable (BUCKET_NAME=) counts as not given.
  const bucket = options.bucket || outputs?.[STACK_OUTPUT.bucketName];
  const queueUrl = options.queueUrl || outputs?.[STACK_OUTPUT.queueUrl];
  const dlqUrl = options.dlqUrl || outputs?.[STACK_OUTPUT.deadLetterQueueUrl];
  const missing = [
    needs.includes('bucket') && !bucket ? '--bucket (or BUCKET_NAME)' : undefined,
    needs.includes('queue') && !queueUrl ? '--queue-url (or QUEUE_URL)' : undefined,
    needs.includes('dlq') && !dlqUrl ? '--dlq-url (or DLQ_URL)' : undefined,
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new CliError(
      `no pipeline to talk to: pass --local for \`alexnet-pipeline local --serve\`, or ${missing.join(', ')}, or deploy with \`npx cdk deploy --outputs-file cdk-outputs.json\``,
    );
  }
  const endpoint = options.endpointUrl ?? process.env.AWS_ENDPOINT_URL;
  const clientOptions = { endpoint: options.endpointUrl, region: options.region, profile: options.profile };
  return {
    description: endpoint ? `pipeline at ${endpoint}` : `AWS bucket ${bucket}`,
    kind: endpoint && isLoopback(endpoint) ? 'local' : 'aws',
    bucket: bucket ?? '',
    queueUrl,
    dlqUrl,
    endpoint,
    layout: keyLayout(outputs),
    s3: createS3Client(clientOptions),
    sqs: createSqsClient(clientOptions),
    clientOptions,
    jobsTable: options.jobsTable || outputs?.[STACK_OUTPUT.jobsTable],
    sourceBuckets: sourceBucketsOf(outputs),
    profile: options.profile || process.env.AWS_PROFILE || undefined,
    ...(outputs?.[STACK_OUTPUT.resultsDatabase] && outputs[STACK_OUTPUT.queryWorkGroup]
      ? {
          athena: {
            database: outputs[STACK_OUTPUT.resultsDatabase]!,
            workGroup: outputs[STACK_OUTPUT.queryWorkGroup]!,
          },
        }
      : {}),
  };
}

/** The stack's `SourceBuckets` output, else `SOURCE_BUCKETS`; `-` or nothing is none. */
function sourceBucketsOf(outputs: Readonly<Record<string, string>> | undefined): string[] {
  const listed = outputs ? outputs[STACK_OUTPUT.sourceBuckets] : process.env[WORKER_ENVIRONMENT.sourceBuckets];
  if (!listed || listed === NO_SOURCE_BUCKETS) return [];
  return listed
    .split(',')
    .map((bucket) => bucket.trim())
    .filter((bucket) => bucket.length > 0);
}

function readStackOutputs(options: TargetOptions): Record<string, string> | undefined {
  const file = options.outputsFile ?? (existsSync('cdk-outputs.json') ? 'cdk-outputs.json' : undefined);
  if (!file) return undefined;
  let document: Record<string, Record<string, string>>;
  try {
    document = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read the CDK outputs file ${file}: ${(error as Error).message}`, { cause: error });
  }
  const stacks = Object.keys(document);
  const stack =
    document[options.stack ?? DEFAULT_STACK_NAME] ?? (stacks.length === 1 ? document[stacks[0]!] : undefined);
  if (!stack)
    throw new CliError(`${file} has no stack ${options.stack}; it has ${stacks.join(', ') || 'none'} (use --stack)`);
  return stack;
}
