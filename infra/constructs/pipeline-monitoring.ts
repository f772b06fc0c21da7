import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { GpuCapacity } from './gpu-capacity.js';
import type { WorkerService } from './worker-service.js';

/** Props of {@link PipelineMonitoring}. */
export interface PipelineMonitoringProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly worker: WorkerService;
  readonly capacity: GpuCapacity;
  /** Alarm when the oldest queued message is older than this. */
  readonly oldestMessageAlarmAge: Duration;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
}

/** Namespace of the metrics the worker's structured logs are turned into. */
export const METRIC_NAMESPACE = 'AlexnetPipeline';

/**
 * What an operator watches: alarms on a non-empty dead-letter queue and on old messages (sent to
 * an SNS topic), metrics derived from the worker's JSON logs (images classified, error results,
 * transient failures), and one dashboard with queue depth, throughput, errors and capacity.
 */
export class PipelineMonitoring extends Construct {
  public readonly alarmTopic: sns.Topic;
  /** The alarm topic's key: customer-managed, because CloudWatch cannot use the AWS-managed SNS key. */
  public readonly alarmKey: kms.Key;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  public readonly oldestMessageAlarm: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const minute = Duration.minutes(1);

    // With the AWS-managed key (alias/aws/sns) every alarm publish fails silently: CloudWatch may
    // not use that key. A customer-managed key whose policy lets CloudWatch use it is required.
    this.alarmKey = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the alexnet-pipeline alarm topic; CloudWatch alarms may use it to publish',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.alarmKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'Alarms', { enforceSSL: true, masterKey: this.alarmKey });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLetters', {
      alarmDescription:
        'Messages reached the dead-letter queue: images that failed repeatedly. Inspect, fix, then `alexnet-pipeline redrive`.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: 'Maximum' }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.oldestMessageAlarm = new cloudwatch.Alarm(this, 'OldestMessage', {
      alarmDescription:
        'Images wait too long: workers are not keeping up or not starting (GPU capacity, Spot, errors).',
      metric: props.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: 'Maximum' }),
      threshold: props.oldestMessageAlarmAge.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.deadLetterAlarm, this.oldestMessageAlarm])
      alarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));
    // A topic policy replaces SNS's default one, and enforceSSL writes one (its Deny alone): without
    // this Allow every alarm's publish is refused ("not authorized to perform: SNS:Publish"). Only
    // this stack's two alarms may publish.
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisStacksAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          ArnEquals: { 'aws:SourceArn': [this.deadLetterAlarm.alarmArn, this.oldestMessageAlarm.alarmArn] },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );

    const imagesClassified = this.logMetric(
      props.worker.logGroup,
      'ImagesClassified',
      '{ $.msg = "batch classified" }',
      '$.batchSize',
    );
    const errorResults = this.logMetric(
      props.worker.logGroup,
      'ErrorResults',
      '{ $.msg = "image cannot be classified; storing an error result" }',
      '1',
    );
    const transientFailures = this.logMetric(
      props.worker.logGroup,
      'TransientFailures',
      '{ $.msg = "transient failure; the message goes back to the queue" }',
      '1',
    );

    const clusterName = props.capacity.cluster.clusterName;
    const runningTasks = new cloudwatch.Metric({
      namespace: 'ECS/ContainerInsights',
      metricName: 'RunningTaskCount',
      dimensionsMap: { ClusterName: clusterName, ServiceName: props.worker.service.serviceName },
      period: minute,
      statistic: 'Maximum',
    });
    const instances = new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName: 'GroupInServiceInstances',
      dimensionsMap: { AutoScalingGroupName: props.capacity.autoScalingGroup.autoScalingGroupName },
      period: minute,
      statistic: 'Maximum',
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-pipeline`,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Queue depth',
            left: [
              props.queue.metricApproximateNumberOfMessagesVisible({ period: minute, label: 'visible' }),
              props.queue.metricApproximateNumberOfMessagesNotVisible({ period: minute, label: 'in flight' }),
              props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, label: 'dead letters' }),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Images per second',
            left: [
              new cloudwatch.MathExpression({
                expression: 'classified / 60',
                label: 'images/s',
                usingMetrics: { classified: imagesClassified },
                period: minute,
              }),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Errors',
            left: [
              errorResults.with({ label: 'error results (bad images)' }),
              transientFailures.with({ label: 'transient failures (retried)' }),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Capacity',
            left: [runningTasks.with({ label: 'worker tasks' }), instances.with({ label: 'GPU instances' })],
            width: 12,
          }),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: [this.deadLetterAlarm, this.oldestMessageAlarm],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Oldest message age (s)',
            left: [props.queue.metricApproximateAgeOfOldestMessage({ period: minute })],
            width: 12,
          }),
        ],
      ],
    });
  }

  private logMetric(logGroup: logs.ILogGroup, metricName: string, pattern: string, value: string): cloudwatch.Metric {
    const filter = new logs.MetricFilter(this, `${metricName}Filter`, {
      logGroup,
      metricNamespace: METRIC_NAMESPACE,
      metricName,
      filterPattern: logs.FilterPattern.literal(pattern),
      metricValue: value,
      defaultValue: 0,
    });
    return filter.metric({ period: Duration.minutes(1), statistic: 'Sum' });
  }
}
