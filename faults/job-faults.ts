import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { createSqsClient, type AwsClientOptions } from '../common/aws-clients.js';
import { endWithThisProcess } from '../common/child-processes.js';
import { createDynamoDbClient } from '../common/dynamodb-client.js';
import { projectRoot } from '../common/paths.js';
import { motoAvailable, startMoto } from '../local/moto-server.js';
import { JOB_COMPLETED_EVENT } from '../pipeline/jobs/job-events.js';
import { JobStore } from '../pipeline/jobs/job-store.js';
import { deleteVisibleMessages, queueDepth } from '../pipeline/sqs-operations.js';

const CLI_ENTRY = path.join(projectRoot, 'dist', 'cli', 'main.js');

/** How a job of a fault scenario ended, as its state in DynamoDB and the events received say. */
export interface JobFaultOutcome {
  readonly jobId: string;
  readonly state: string;
  readonly total: number;
  readonly stored: number;
  readonly errors: number;
  readonly completionEvent: string;
  /** Images whose last receive began without a result (in the DLQ): 0 once the job completes. */
  readonly deadLettered: number;
  /** `Job Completed` events for the job that reached EventBridge (moto's); undefined without moto. */
  readonly completionEvents?: number;
}

/**
 * Waits for the notifications of `count` uploads to reach the queue, then deletes them: the
 * images are then as if they had been in the bucket before the pipeline, for a job to find.
 */
export async function forgetNotifications(sqs: SQSClient, queueUrl: string, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await queueDepth(sqs, queueUrl)).visible < count) {
    if (Date.now() > deadline) throw new Error(`the notifications of ${count} uploads did not all arrive`);
    await sleep(200);
  }
  await deleteVisibleMessages(sqs, queueUrl);
}

/** Runs `alexnet-pipeline submit <prefix>` as a user does; returns the job's id. */
export async function submitJob(environment: Record<string, string>, prefix: string): Promise<string> {
  const child = endWithThisProcess(
    spawn(process.execPath, [CLI_ENTRY, 'submit', prefix], {
      env: { ...process.env, ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const jobId = /^job (job-\S+)$/m.exec(output)?.[1];
  if (code !== 0 || !jobId) throw new Error(`submit ${prefix} failed (exit ${code}): ${output}`);
  return jobId;
}

/**
 * Where the workers' `Job Completed` events go: moto's EventBridge, with a rule that sends them to
 * a queue of moto's that is then read. Without moto (`start` returns undefined) the job's state is
 * all there is to check.
 */
export class CompletionEventSink {
  private constructor(
    private readonly moto: { endpoint: string; stop(): Promise<void> },
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  static async start(): Promise<CompletionEventSink | undefined> {
    if (!motoAvailable) return undefined;
    const moto = await startMoto();
    const clientOptions = {
      endpoint: moto.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    };
    const sqs = createSqsClient(clientOptions);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'job-completed' }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const events = new EventBridgeClient(clientOptions);
    await events.send(
      new PutRuleCommand({
        Name: 'job-completed',
        EventPattern: JSON.stringify({
          source: [JOB_COMPLETED_EVENT.source],
          'detail-type': [JOB_COMPLETED_EVENT.detailType],
        }),
      }),
    );
    await events.send(
      new PutTargetsCommand({ Rule: 'job-completed', Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn }] }),
    );
    events.destroy();
    return new CompletionEventSink(moto, sqs, QueueUrl!);
  }

  /** What a worker needs to send its events here. */
  workerEnvironment(): Record<string, string> {
    return { EVENT_BUS_NAME: 'default', AWS_ENDPOINT_URL_EVENTBRIDGE: this.moto.endpoint };
  }

  /** The `Job Completed` events received for `jobId` (reads, and removes, all that have arrived). */
  async completedEventsFor(jobId: string): Promise<number> {
    let count = 0;
    for (;;) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (Messages.length === 0) return count;
      for (const message of Messages) {
        const event = JSON.parse(message.Body!) as { detail?: { jobId?: string } };
        if (event.detail?.jobId === jobId) count++;
        await this.sqs.send(
          new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: message.ReceiptHandle }),
        );
      }
    }
  }

  async stop(): Promise<void> {
    this.sqs.destroy();
    await this.moto.stop();
  }
}

/**
 * The job's state once its completion is settled (its event sent, or `waitSeconds` passed), and the
 * completion events that reached `events`.
 */
export async function jobOutcome(
  clientOptions: AwsClientOptions,
  jobsTable: string,
  jobId: string,
  events: CompletionEventSink | undefined,
  waitSeconds = 30,
): Promise<JobFaultOutcome> {
  const dynamo = createDynamoDbClient(clientOptions);
  try {
    const store = new JobStore(dynamo, jobsTable);
    const deadline = Date.now() + waitSeconds * 1000;
    let job = await store.get(jobId);
    while (job?.completionEvent !== 'sent' && Date.now() < deadline) {
      await sleep(250);
      job = await store.get(jobId);
    }
    if (!job) throw new Error(`job ${jobId} is not in the jobs table`);
    return {
      jobId,
      state: job.state,
      total: job.total ?? -1,
      stored: job.stored,
      errors: job.errors,
      completionEvent: job.completionEvent ?? 'not sent',
      deadLettered: job.deadLettered,
      ...(events ? { completionEvents: await events.completedEventsFor(jobId) } : {}),
    };
  } finally {
    dynamo.destroy();
  }
}
