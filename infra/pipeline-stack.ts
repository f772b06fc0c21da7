import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { NO_SOURCE_BUCKETS, STACK_OUTPUT } from '../pipeline/stack-outputs.js';
import { WORKER_SETTINGS } from '../pipeline/worker-settings.js';
import { GpuCapacity } from './constructs/gpu-capacity.js';
import { PipelineMonitoring } from './constructs/pipeline-monitoring.js';
import { ErrorNotifications } from './constructs/error-notifications.js';
import { PipelineStorage } from './constructs/pipeline-storage.js';
import { JobState } from './constructs/job-state.js';
import { ResultQueries } from './constructs/result-queries.js';
import { WorkerService } from './constructs/worker-service.js';
import type { PipelineParameters } from '../pipeline/deploy-parameters.js';

/** Props of {@link PipelineStack}. */
export interface PipelineStackProps extends StackProps {
  /** Validated deploy-time parameters (see `readPipelineParameters`). */
  readonly parameters: PipelineParameters;
}

/**
 * The whole pipeline: bucket → notifications → queue (+ DLQ) → GPU worker service that scales
 * from and to zero → results in the bucket, with alarms, a dashboard and the outputs the CLI reads.
 */
export class PipelineStack extends Stack {
  public readonly storage: PipelineStorage;
  public readonly jobs: JobState;
  public readonly capacity: GpuCapacity;
  public readonly worker: WorkerService;
  public readonly monitoring: PipelineMonitoring;
  public readonly queries: ResultQueries;
  public readonly errorNotifications?: ErrorNotifications;
  public readonly parameters: PipelineParameters;

  constructor(scope: Construct, id: string, props: PipelineStackProps) {
    super(scope, id, props);
    const parameters = props.parameters;
    this.parameters = parameters;

    this.storage = new PipelineStorage(this, 'Storage', {
      uploadsPrefix: parameters.uploadsPrefix,
      maxReceiveCount: parameters.maxReceiveCount,
      // The worker's heartbeat extends visibility every HEARTBEAT_INTERVAL_SECONDS to this value.
      visibilityTimeout: Duration.seconds(WORKER_SETTINGS.visibilityTimeoutSeconds.default),
    });
    this.jobs = new JobState(this, 'JobState');
    this.capacity = new GpuCapacity(this, 'GpuCapacity', {
      instanceType: parameters.instanceType,
      maxInstances: parameters.maxInstances,
      spot: parameters.spot,
      spotInstanceTypes: parameters.spotInstanceTypes,
      ...(parameters.availabilityZones ? { availabilityZones: parameters.availabilityZones } : {}),
    });
    this.worker = new WorkerService(this, 'Worker', {
      capacity: this.capacity,
      bucket: this.storage.bucket,
      queue: this.storage.queue,
      deadLetterQueue: this.storage.deadLetterQueue,
      maxReceiveCount: parameters.maxReceiveCount,
      jobsTable: this.jobs.table,
      uploadsPrefix: parameters.uploadsPrefix,
      resultsPrefix: parameters.resultsPrefix,
      batchSize: parameters.batchSize,
      maxTasks: parameters.maxInstances,
      memoryLimitMiB: parameters.taskMemoryMiB,
      logRetention: parameters.logRetentionDays as logs.RetentionDays,
      sourceBuckets: parameters.sourceBuckets,
      sourceBucketKeys: parameters.sourceBucketKeys,
    });
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      queue: this.storage.queue,
      deadLetterQueue: this.storage.deadLetterQueue,
      worker: this.worker,
      capacity: this.capacity,
      oldestMessageAlarmAge: Duration.minutes(parameters.oldestMessageAlarmMinutes),
      alarmEmail: parameters.alarmEmail,
    });
    this.queries = new ResultQueries(this, 'Queries', {
      bucket: this.storage.bucket,
      resultsPrefix: parameters.resultsPrefix,
      accessLogBucket: this.storage.accessLogBucket,
      scanLimitGb: parameters.queryScanLimitGb,
    });
    if (parameters.notifyErrorsEmail || parameters.notifyErrorsTopicArn) {
      this.errorNotifications = new ErrorNotifications(this, 'ErrorNotifications', {
        bucket: this.storage.bucket,
        topicKey: this.monitoring.alarmKey,
        email: parameters.notifyErrorsEmail,
        topicArn: parameters.notifyErrorsTopicArn,
      });
    }

    new CfnOutput(this, STACK_OUTPUT.bucketName, {
      value: this.storage.bucket.bucketName,
      description: `Upload images below ${parameters.uploadsPrefix}; results appear below ${parameters.resultsPrefix}`,
    });
    new CfnOutput(this, STACK_OUTPUT.queueUrl, { value: this.storage.queue.queueUrl });
    new CfnOutput(this, STACK_OUTPUT.deadLetterQueueUrl, { value: this.storage.deadLetterQueue.queueUrl });
    new CfnOutput(this, STACK_OUTPUT.jobsTable, {
      value: this.jobs.table.tableName,
      description: 'DynamoDB table of submit jobs (alexnet-pipeline submit, jobs status)',
    });
    // The CLI accepts s3:// sources of these buckets only (an output's value cannot be empty: "-" is none).
    new CfnOutput(this, STACK_OUTPUT.sourceBuckets, {
      value: parameters.sourceBuckets.length > 0 ? parameters.sourceBuckets.join(',') : NO_SOURCE_BUCKETS,
      description: 'Other buckets whose images jobs may name (-c sourceBuckets)',
    });
    new CfnOutput(this, STACK_OUTPUT.logGroupName, { value: this.worker.logGroup.logGroupName });
    // The CLI reads the key layout from these, so a stack deployed with other prefixes is found as it is.
    new CfnOutput(this, STACK_OUTPUT.uploadsPrefix, {
      value: parameters.uploadsPrefix,
      description: 'Key prefix whose images the pipeline classifies',
    });
    new CfnOutput(this, STACK_OUTPUT.resultsPrefix, {
      value: parameters.resultsPrefix,
      description: 'Key prefix the results are written below',
    });
    new CfnOutput(this, STACK_OUTPUT.autoScalingGroupName, {
      value: this.capacity.autoScalingGroup.autoScalingGroupName,
      description: 'GPU instances (see the README before cdk destroy)',
    });
    new CfnOutput(this, STACK_OUTPUT.clusterName, { value: this.capacity.cluster.clusterName });
    new CfnOutput(this, STACK_OUTPUT.resultsDatabase, {
      value: this.queries.databaseName,
      description: 'Glue database of the results table (alexnet-pipeline query --engine athena)',
    });
    new CfnOutput(this, STACK_OUTPUT.queryWorkGroup, {
      value: this.queries.workGroup.ref,
      description: 'Athena workgroup for queries of the results',
    });
    new CfnOutput(this, STACK_OUTPUT.dashboardUrl, {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.monitoring.dashboard.dashboardName}`,
    });
  }
}
