import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Props of {@link PipelineStorage}. */
export interface PipelineStorageProps {
  /** Uploads below this prefix trigger the pipeline. */
  readonly uploadsPrefix: string;
  /** Receives before a message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** Visibility timeout of the queue; the worker's heartbeat keeps messages invisible beyond it. */
  readonly visibilityTimeout: Duration;
}

/**
 * The bucket, the job queue and its dead-letter queue, and the S3 → SQS notifications between
 * them. Everything is encrypted at rest and reachable over TLS only; the bucket is private.
 *
 * Every object created below the uploads prefix notifies, whatever its ending: S3's suffix filters
 * are case-sensitive, so `.jpg` and `.JPG` rules would miss `photo.Jpg` (all case variants of the
 * image endings would be 96 rules, near S3's limit of notification configurations per bucket). The
 * worker skips what is not an image name (any case) at the cost of one queue message; results are
 * written below another prefix, so they never loop.
 */
export class PipelineStorage extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogBucket: s3.Bucket;
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: PipelineStorageProps) {
    super(scope, id);

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      // ACLs off: S3 delivers access logs under a bucket policy (cdk.json sets
      // @aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy), not the legacy LogDeliveryWrite ACL.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Images', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'images/',
      // Uploads and results are the users' data: keep them when the stack is deleted.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.queue = new sqs.Queue(this, 'Jobs', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(14),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });

    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
      prefix: props.uploadsPrefix,
    });
  }
}
