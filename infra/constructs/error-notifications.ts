import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
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
 * Tells people of error results: an EventBridge rule on the pipeline's completion events with
 * `status: error` sends a one-line message to an SNS topic — a new one with an e-mail
 * subscription, and/or a topic the user already has.
 */
export class ErrorNotifications extends Construct {
  public readonly rule: events.Rule;
  public readonly topic?: sns.Topic;

  constructor(scope: Construct, id: string, props: ErrorNotificationsProps) {
    super(scope, id);
    this.rule = new events.Rule(this, 'ErrorResults', {
      description: 'alexnet-pipeline: an image got an error result',
      eventBus: events.EventBus.fromEventBusName(this, 'Bus', RESULT_EVENT_BUS),
      eventPattern: resultEventPattern(props.bucket.bucketName, { status: ['error'] }) as events.EventPattern,
    });
    const message = events.RuleTargetInput.fromText(
      `alexnet-pipeline: ${events.EventField.fromPath('$.detail.key')} could not be classified: ${events.EventField.fromPath('$.detail.error.code')} ${events.EventField.fromPath('$.detail.error.message')} (result s3://${events.EventField.fromPath('$.detail.bucket')}/${events.EventField.fromPath('$.detail.resultKey')})`,
    );
    if (props.email) {
      const topic = new sns.Topic(this, 'Topic', { enforceSSL: true, masterKey: props.topicKey });
      this.topic = topic;
      topic.addSubscription(new subscriptions.EmailSubscription(props.email));
      // Not targets.SnsTopic, which would let all of EventBridge publish: only this rule may.
      this.rule.addTarget({ bind: () => ({ arn: topic.topicArn, input: message, targetResource: topic }) });
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowTheErrorResultRuleToPublish',
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: { ArnEquals: { 'aws:SourceArn': this.rule.ruleArn } },
        }),
      );
    }
    if (props.topicArn)
      this.rule.addTarget(
        new targets.SnsTopic(sns.Topic.fromTopicArn(this, 'GivenTopic', props.topicArn), { message }),
      );
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
