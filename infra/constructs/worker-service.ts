import path from 'node:path';
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { projectRoot } from '../../common/paths.js';
import { IMAGES_PER_MESSAGE } from '../../pipeline/jobs/job-messages.js';
import { RESULT_EVENT, RESULT_EVENT_BUS } from '../../pipeline/result-events.js';
import { WORKER_SETTINGS, workerEnvironmentFor } from '../../pipeline/worker-settings.js';
import type { GpuCapacity } from './gpu-capacity.js';

/** Props of {@link WorkerService}. */
export interface WorkerServiceProps {
  readonly capacity: GpuCapacity;
  readonly bucket: s3.IBucket;
  readonly queue: sqs.IQueue;
  /** Receives before the queue moves a message to the dead-letter queue (its redrive policy). */
  readonly maxReceiveCount: number;
  /** Where the worker sends a message that is not an S3 event at once. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The table of `submit` jobs, where the worker counts their images. */
  readonly jobsTable: dynamodb.ITable;
  readonly uploadsPrefix: string;
  readonly resultsPrefix: string;
  /** Images per GPU batch. */
  readonly batchSize: number;
  /** Most worker tasks (one per GPU instance). */
  readonly maxTasks: number;
  /** Hard memory limit of the container, MiB. */
  readonly memoryLimitMiB: number;
  readonly logRetention: logs.RetentionDays;
  /** Other buckets whose images jobs may name: read-only, by the task role alone. */
  readonly sourceBuckets: readonly string[];
  /** KMS keys of those buckets' objects: decrypt only. */
  readonly sourceBucketKeys: readonly string[];
}

/**
 * Seconds ECS waits after SIGTERM before SIGKILL; the worker drains within it, 30 s earlier. It
 * also fits the two-minute notice of a Spot interruption.
 */
const STOP_TIMEOUT_SECONDS = 120;

/**
 * The worker as an ECS service on the GPU capacity: one task per GPU, the container built from
 * `infra/Dockerfile` for linux/amd64 whatever machine deploys, its settings as environment
 * variables, a health check that catches a wedged event loop, logs with a retention period, and
 * scaling on the queue backlog (visible + in-flight messages; see {@link BACKLOG_IMAGES_PER_TASK}) from zero tasks to `maxTasks` and
 * back to zero. CPU-based scaling is deliberately absent: the backlog is the signal.
 *
 * The service is created with a desired count of 0: without one CloudFormation creates it with 1
 * and waits for that GPU task to run, which on a new account (no G-and-VT quota) never happens. A
 * later deploy that changes the service sends the 0 again (CloudFormation has no "initial" count);
 * what that does to a busy fleet — protected tasks keep working, the backlog alarm scales back
 * within a minute or two — is in the README ("What a redeploy does to running tasks").
 */
export class WorkerService extends Construct {
  public readonly service: ecs.Ec2Service;
  public readonly taskDefinition: ecs.Ec2TaskDefinition;
  public readonly logGroup: logs.LogGroup;
  /** Visible plus in-flight messages: what the service scales on. */
  public readonly backlog: cloudwatch.MathExpression;

  constructor(scope: Construct, id: string, props: WorkerServiceProps) {
    super(scope, id);
    const { bucket, queue } = props;

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention });
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'Task', { networkMode: ecs.NetworkMode.BRIDGE });
    this.taskDefinition.addContainer('worker', {
      // linux/amd64 from any machine: an Apple-silicon laptop would otherwise build arm64, which
      // fails with "exec format error" on GPU instances and has no CUDA provider at all.
      image: ecs.ContainerImage.fromAsset(projectRoot, {
        file: path.join('infra', 'Dockerfile'),
        platform: Platform.LINUX_AMD64,
      }),
      gpuCount: 1,
      memoryLimitMiB: props.memoryLimitMiB,
      memoryReservationMiB: Math.min(4096, props.memoryLimitMiB),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'worker' }),
      stopTimeout: Duration.seconds(STOP_TIMEOUT_SECONDS),
      // The worker's event loop touches its health file every few seconds; a stale file means a
      // wedged process, and ECS replaces the task.
      healthCheck: {
        command: ['CMD', 'node', 'dist/functions/worker/health-check.js'],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(180),
      },
      environment: {
        ...workerEnvironmentFor({
          bucketName: bucket.bucketName,
          queueUrl: queue.queueUrl,
          deadLetterQueueUrl: props.deadLetterQueue.queueUrl,
          maxReceiveCount: props.maxReceiveCount,
          uploadsPrefix: props.uploadsPrefix,
          resultsPrefix: props.resultsPrefix,
          maxBatch: props.batchSize,
          maxWaitMs: WORKER_SETTINGS.maxWaitMs.default,
          visibilityTimeoutSeconds: WORKER_SETTINGS.visibilityTimeoutSeconds.default,
          heartbeatIntervalSeconds: WORKER_SETTINGS.heartbeatIntervalSeconds.default,
          shutdownGraceSeconds: STOP_TIMEOUT_SECONDS - 30,
          // On a GPU instance a CPU fallback would be silently 10× slower: fail loudly instead.
          device: 'cuda',
          // One "Image result stored" event per result, on the account's default bus.
          eventBusName: RESULT_EVENT_BUS,
          jobsTable: props.jobsTable.tableName,
          ...(props.sourceBuckets.length > 0 ? { sourceBuckets: props.sourceBuckets.join(',') } : {}),
        }),
        AWS_REGION: Stack.of(this).region,
      },
    });

    this.grantLeastPrivilege(props);

    this.service = new ecs.Ec2Service(this, 'Service', {
      cluster: props.capacity.cluster,
      taskDefinition: this.taskDefinition,
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      capacityProviderStrategies: [
        { capacityProvider: props.capacity.capacityProvider.capacityProviderName, weight: 1 },
      ],
      placementConstraints: [ecs.PlacementConstraint.distinctInstances()],
      circuitBreaker: { enable: true, rollback: true },
      desiredCount: 0,
    });
    // CreateService names the capacity provider: it must be associated with the cluster first
    // (aws/containers-roadmap#631), which CloudFormation does not know without being told. The
    // association is made inside the cluster construct while the app synthesizes (an aspect of the
    // CDK's), so the dependency is on the whole cluster construct, which then includes it.
    this.service.node.addDependency(props.capacity.cluster);

    // SQS publishes nothing for an idle queue's in-flight count, and a missing term would make the
    // whole sum missing: each term counts as 0 when it has no data, so an idle stack scales to zero
    // and the first upload scales it up.
    this.backlog = new cloudwatch.MathExpression({
      expression: 'FILL(visible, 0) + FILL(inFlight, 0)',
      label: 'Backlog (visible + in flight)',
      period: Duration.minutes(1),
      usingMetrics: {
        visible: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        inFlight: queue.metricApproximateNumberOfMessagesNotVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
      },
    });

    const scaling = this.service.autoScaleTaskCount({ minCapacity: 0, maxCapacity: props.maxTasks });
    scaling.scaleOnMetric('ScaleOnBacklog', {
      metric: this.backlog,
      adjustmentType: appscaling.AdjustmentType.EXACT_CAPACITY,
      // Zero messages: zero tasks. Any backlog: at least one task, more as it grows.
      scalingSteps: backlogSteps(props.maxTasks),
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      cooldown: Duration.minutes(1),
    });
    // FILL makes missing data rare; should it happen anyway, it means an empty queue: no reason to
    // scale out, every reason to scale in.
    for (const alarm of scaling.node
      .findAll()
      .filter((child): child is cloudwatch.CfnAlarm => child instanceof cloudwatch.CfnAlarm)) {
      alarm.treatMissingData = alarm.node.path.includes('LowerAlarm')
        ? cloudwatch.TreatMissingData.BREACHING
        : cloudwatch.TreatMissingData.NOT_BREACHING;
    }
  }

  /**
   * Read access to the images of `-c sourceBuckets` — GetObject on their objects, Decrypt with their
   * KMS keys — granted on the task role only: the stack writes no bucket policy, notification or key
   * policy of a bucket it does not own (a bucket or key policy of another account must also allow it;
   * `doctor` reads one object of each bucket to tell).
   */
  private grantSourceBuckets(props: WorkerServiceProps): void {
    const role = this.taskDefinition.taskRole;
    if (props.sourceBuckets.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['s3:GetObject'],
          resources: props.sourceBuckets.map((bucket) => `arn:${Aws.PARTITION}:s3:::${bucket}/*`),
        }),
      );
    }
    if (props.sourceBucketKeys.length > 0) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['kms:Decrypt'],
          resources: [...props.sourceBucketKeys],
          // Only when S3 asks for it, for one of those buckets.
          conditions: { StringLike: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
  }

  /** The task reads uploads, writes results, consumes the queue, and may protect itself from scale-in. */
  private grantLeastPrivilege(props: WorkerServiceProps): void {
    const role = this.taskDefinition.taskRole;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        // Uploads, and the images a job names elsewhere in the bucket (results/_buckets/<bucket>/…).
        resources: [props.bucket.arnForObjects('*')],
      }),
    );
    this.grantSourceBuckets(props);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.bucket.arnForObjects(`${props.resultsPrefix}*`)],
      }),
    );
    // ListBucket: one ListObjectsV2 tells which results of a received batch exist already; without
    // it a HEAD on a missing result would also answer 403 instead of 404.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] }),
    );
    props.queue.grantConsumeMessages(role);
    // A job's message received again is split into one message per image (split-message.ts).
    props.queue.grantSendMessages(role);
    // An unusable message goes to the DLQ at once (retrying cannot fix it).
    props.deadLetterQueue.grantSendMessages(role);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
        // Pseudo-parameters rather than formatArn: the ARN reads the same whatever env the stack has.
        resources: [
          `arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:task/${props.capacity.cluster.clusterName}/*`,
        ],
      }),
    );
    // Jobs: an image counted (a conditional put and an update in one transaction), the job read,
    // its completion claimed and marked sent, its prefix released. Nothing else of DynamoDB.
    props.jobsTable.grant(role, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    // Completion events: only to the default bus, and only with the pipeline's own source.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutEvents'],
        resources: [`arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:event-bus/${RESULT_EVENT_BUS}`],
        conditions: { StringEquals: { 'events:source': RESULT_EVENT.source } },
      }),
    );
  }
}

/**
 * Images of backlog per task beyond the first: about ten seconds of one task's work at the ~500
 * images/s an instance sustains (docs/aws.md). The alarm counts messages, not images (SQS has no
 * other metric): a job's message holds {@link IMAGES_PER_MESSAGE} images, an upload's one. The steps
 * are therefore set in job messages, so that a job asks for tasks in proportion to its images; a
 * backlog of uploads adds tasks {@link IMAGES_PER_MESSAGE}× sooner per image, which is deliberate:
 * uploads are interactive, and a task that is not needed finds no message and scales back in.
 */
export const BACKLOG_IMAGES_PER_TASK = 5_000;

/** {@link BACKLOG_IMAGES_PER_TASK} in job messages. */
export const BACKLOG_MESSAGES_PER_TASK = BACKLOG_IMAGES_PER_TASK / IMAGES_PER_MESSAGE;

/** Exact task counts by backlog: 0 → 0, 1+ → 1, then one more task per {@link BACKLOG_MESSAGES_PER_TASK} messages, up to the maximum. */
export function backlogSteps(maxTasks: number): appscaling.ScalingInterval[] {
  const steps: appscaling.ScalingInterval[] = [
    { upper: 0, change: 0 },
    { lower: 1, change: 1 },
  ];
  for (let tasks = 2; tasks <= maxTasks; tasks++)
    steps.push({ lower: (tasks - 1) * BACKLOG_MESSAGES_PER_TASK, change: tasks });
  return steps;
}
