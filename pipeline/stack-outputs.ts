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
} as const;

/** The stack's default name (`cdk deploy` from the project root). */
export const DEFAULT_STACK_NAME = 'AlexnetPipeline';
