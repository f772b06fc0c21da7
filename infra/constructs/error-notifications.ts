import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { JOB_COMPLETED_EVENT } from '../../pipeline/jobs/job-events.js';
import { RESULT_EVENT_BUS, resultEventPattern } from '../../pipeline/result-events.js';

/** Props of {@link ErrorNotifications}. */
export interface ErrorNotificationsProps {
  readonly bucket: s3.IBucket;
  /** Encrypts the topic this construct creates for `email`. */
  readonly topicKey: kms.IKey;
  /** Subscribed to a new topic (`-c notifyErrorsEmail=`). */
  readonly email?: string;
  /** An existing topic (`-c notifyErrorsTopicArn=`); its policy must let events.amazonaws.com publish. */
  readonly topicArn?: string;
}

/**
 * Tells people of error results and finished jobs: EventBridge rules on the pipeline's events — a
 * result with `status: error`, and a `Job Completed` — send a one-line message each to an SNS topic:
 * a new one with an e-mail subscription, and/or a topic the user already has.
 */
export class ErrorNotifications extends Construct {
  public readonly rule: events.Rule;
  public readonly jobsRule: events.Rule;
  public readonly topic?: sns.Topic;

  constructor(scope: Construct, id: string, props: ErrorNotificationsProps) {
    super(scope, id);
    const bus = events.EventBus.fromEventBusName(this, 'Bus', RESULT_EVENT_BUS);
    this.rule = new events.Rule(this, 'ErrorResults', {
      description: 'alexnet-pipeline: an image got an error result',
      eventBus: bus,
      eventPattern: resultEventPattern(props.bucket.bucketName, { status: ['error'] }) as events.EventPattern,
    });
    this.jobsRule = new events.Rule(this, 'JobsCompleted', {
      description: 'alexnet-pipeline: a submit job has a result for every image',
      eventBus: bus,
      eventPattern: {
        source: [JOB_COMPLETED_EVENT.source],
        detailType: [JOB_COMPLETED_EVENT.detailType],
        detail: { bucket: [props.bucket.bucketName] },
      },
    });
    const field = (path: string) => events.EventField.fromPath(path);
    const messages = new Map<events.Rule, events.RuleTargetInput>([
      [
        this.rule,
        events.RuleTargetInput.fromText(
          `alexnet-pipeline: ${field('$.detail.key')} could not be classified: ${field('$.detail.error.code')} ${field('$.detail.error.message')} (result s3://${field('$.detail.bucket')}/${field('$.detail.resultKey')})`,
        ),
      ],
      [
        this.jobsRule,
        events.RuleTargetInput.fromText(
          `alexnet-pipeline: job ${field('$.detail.jobId')} over s3://${field('$.detail.bucket')}/${field('$.detail.prefix')} completed: ${field('$.detail.stored')} stored, ${field('$.detail.errors')} error results, ${field('$.detail.skipped')} skipped of ${field('$.detail.total')} images`,
        ),
      ],
    ]);
    if (props.email) {
      const topic = new sns.Topic(this, 'Topic', { enforceSSL: true, masterKey: props.topicKey });
      this.topic = topic;
      topic.addSubscription(new subscriptions.EmailSubscription(props.email));
      // Not targets.SnsTopic, which would let all of EventBridge publish: only these rules may.
      for (const [rule, message] of messages)
        rule.addTarget({ bind: () => ({ arn: topic.topicArn, input: message, targetResource: topic }) });
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowTheErrorResultRuleToPublish',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: { ArnEquals: { 'aws:SourceArn': [this.rule.ruleArn, this.jobsRule.ruleArn] } },
        }),
      );
    }
    if (props.topicArn) {
      const given = sns.Topic.fromTopicArn(this, 'GivenTopic', props.topicArn);
      for (const [rule, message] of messages) rule.addTarget(new targets.SnsTopic(given, { message }));
    }
    // EventBridge publishes to a KMS-encrypted topic only if the key lets it.
    if (this.topic) {
      props.topicKey.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowEventBridgeToPublishErrorResults',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
          resources: ['*'],
        }),
      );
    }
  }
}
