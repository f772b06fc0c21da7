/**
 * Names of the CDK stack's outputs, shared by the stack (which declares them) and the CLI (which
 * reads `cdk deploy --outputs-file cdk-outputs.json`).
 */
export const STACK_OUTPUT = {
  bucketName: 'BucketName',
  queueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  dashboardUrl: 'DashboardUrl',
  logGroupName: 'LogGroupName',
  uploadsPrefix: 'UploadsPrefix',
  resultsPrefix: 'ResultsPrefix',
  /** The GPU instances' Auto Scaling group: the tear-down commands in the README name it. */
  autoScalingGroupName: 'GpuAutoScalingGroupName',
  /** The ECS cluster of the worker service. */
  clusterName: 'ClusterName',
  /** `query --engine athena`: the Glue database with the results table, and the workgroup to run in. */
  resultsDatabase: 'ResultsDatabaseName',
  queryWorkGroup: 'QueryWorkGroupName',
  /** The DynamoDB table of `submit` jobs. */
  jobsTable: 'JobsTableName',
  /** Other buckets whose images jobs may name (`-c sourceBuckets`), comma-separated; {@link NO_SOURCE_BUCKETS} for none. */
  sourceBuckets: 'SourceBuckets',
} as const;

/** The `SourceBuckets` output of a stack deployed without `-c sourceBuckets`. */
export const NO_SOURCE_BUCKETS = '-';

/** The stack's default name (`cdk deploy` from the project root). */
export const DEFAULT_STACK_NAME = 'AlexnetPipeline';
