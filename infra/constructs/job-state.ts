import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { JOBS_TABLE } from '../../pipeline/jobs/job-table.js';

/**
 * The state of `submit` jobs: one DynamoDB table (see pipeline/jobs/job-table.ts for its items),
 * on demand — no capacity to plan, nothing paid while no job runs — with items expiring by TTL and
 * point-in-time recovery. It is destroyed with the stack: it holds progress, not results (those
 * are in the bucket, which is kept).
 */
export class JobState extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Jobs', {
      partitionKey: { name: JOBS_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: JOBS_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: JOBS_TABLE.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }
}
