import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { App } from 'aws-cdk-lib';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  PARAMETER_DEFAULTS,
  readPipelineParameters,
  type PipelineParameters,
} from '../../pipeline/deploy-parameters.js';
import { ACCEPTED_CFN_LINT, noCfnLint } from '../helpers/cfn-lint.js';
import { synthesizeStack } from '../helpers/synthesize-stack.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';
import { STACK_OUTPUT } from '../../pipeline/stack-outputs.js';
import { IMAGES_PER_MESSAGE } from '../../pipeline/jobs/job-messages.js';
import { GPU_AMI_PARAMETER } from '../../pipeline/gpu-runtime.js';
import { crossChecksSkipped } from '../helpers/cross-checks.js';

const { stack, template } = synthesizeStack();
const lintFolder = temporaryFolder('alexnet-lint-');
const resourcesOf = (type: string) =>
  Object.values(template.findResources(type)) as Array<{ Properties: Record<string, any> }>;
const taskRolePolicy = () => {
  const roles = template.findResources('AWS::IAM::Role', {
    Properties: {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'ecs-tasks.amazonaws.com' } })]),
      }),
    },
  });
  const taskRoleId = Object.keys(roles).find((id) => id.includes('TaskRole'))!;
  const policy = resourcesOf('AWS::IAM::Policy').find((p) =>
    p.Properties.Roles.some((r: { Ref: string }) => r.Ref === taskRoleId),
  )!;
  return policy.Properties.PolicyDocument.Statement as Array<{
    Action: string | string[];
    Resource: unknown;
    Effect: string;
  }>;
};

describe('PipelineStack: bucket and notifications', () => {
  it('notifies the queue of every object created below uploads/, whatever the case of its ending (the worker skips non-images)', () => {
    const [notifications] = resourcesOf('Custom::S3BucketNotifications');
    const rules = notifications!.Properties.NotificationConfiguration.QueueConfigurations as Array<{
      Events: string[];
      Filter: { Key: { FilterRules: Array<{ Name: string; Value: string }> } };
    }>;
    assert.equal(rules.length, 1);
    assert.deepEqual(rules[0]!.Events, ['s3:ObjectCreated:*']);
    assert.deepEqual(
      rules[0]!.Filter.Key.FilterRules,
      [{ Name: 'prefix', Value: 'uploads/' }],
      'a prefix, no suffix: photo.Jpg notifies; results/ never does',
    );
  });

  it('encrypts the bucket, blocks public access and denies non-TLS requests', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'images/' }),
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: stack.getLogicalId(stack.storage.bucket.node.defaultChild as never) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('PipelineStack: queues', () => {
  it('wires the dead-letter queue (3 receives, 14 days) and encrypts both queues', () => {
    const dlqId = stack.getLogicalId(stack.storage.deadLetterQueue.node.defaultChild as never);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 3 },
      VisibilityTimeout: 60,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 1_209_600,
      SqsManagedSseEnabled: true,
    });
    template.resourceCountIs('AWS::SQS::Queue', 2);
  });

  it('denies non-TLS access to both queues', () => {
    const policies = resourcesOf('AWS::SQS::QueuePolicy');
    const insecureDenied = policies.filter((p) =>
      p.Properties.PolicyDocument.Statement.some(
        (s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      ),
    );
    assert.equal(insecureDenied.length, 2);
  });
});

describe('PipelineStack: GPU capacity and service', () => {
  it('asks for one GPU per worker container', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({ ResourceRequirements: [{ Type: 'GPU', Value: '1' }], Memory: 8192, StopTimeout: 120 }),
      ],
      NetworkMode: 'bridge',
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ InstanceType: 'g4dn.xlarge' }),
    });
  });

  it('runs hosts on the Amazon Linux 2023 ECS GPU AMI, whose driver runs CUDA 13 (not AL2’s 550 driver)', () => {
    template.hasParameter('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: GPU_AMI_PARAMETER });
    assert.ok(!JSON.stringify(template.toJSON()).includes('amazon-linux-2/'), 'no Amazon Linux 2 AMI anywhere');
  });

  it('requires IMDSv2 with a hop limit of 1, so containers on the bridge network cannot read the instance role', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1 } }),
    });
  });

  it('encrypts the hosts’ root volume', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ Encrypted: true }) })],
      }),
    });
  });

  it('replaces a container whose event loop is wedged: a health check on the worker’s health file', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: Match.objectLike({
            Command: ['CMD', 'node', 'dist/functions/worker/health-check.js'],
            Retries: 3,
          }),
        }),
      ],
    });
  });

  it('passes the worker its configuration, and insists on CUDA', () => {
    const [task] = resourcesOf('AWS::ECS::TaskDefinition');
    const environment = Object.fromEntries(
      task!.Properties.ContainerDefinitions[0].Environment.map((e: { Name: string; Value: unknown }) => [
        e.Name,
        e.Value,
      ]),
    );
    assert.equal(environment.DEVICE, 'cuda');
    assert.equal(environment.UPLOADS_PREFIX, 'uploads/');
    assert.equal(environment.RESULTS_PREFIX, 'results/');
    assert.equal(environment.MAX_BATCH, '32');
    assert.deepEqual(environment.QUEUE_URL, {
      Ref: stack.getLogicalId(stack.storage.queue.node.defaultChild as never),
    });
  });

  it('scales instances and tasks from zero and back to zero on the backlog, with no CPU scaling', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '0', MaxSize: '2' });
    template.hasResourceProperties('AWS::ECS::CapacityProvider', {
      AutoScalingGroupProvider: Match.objectLike({
        ManagedScaling: Match.objectLike({ Status: 'ENABLED' }),
        ManagedTerminationProtection: 'ENABLED',
      }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0,
      MaxCapacity: 2,
      ScalableDimension: 'ecs:service:DesiredCount',
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'StepScaling',
      StepScalingPolicyConfiguration: Match.objectLike({
        AdjustmentType: 'ExactCapacity',
        StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
      }),
    });
    const alarms = resourcesOf('AWS::CloudWatch::Alarm').filter((a) =>
      a.Properties.Metrics?.some(
        (m: { Expression?: string }) => m.Expression === 'FILL(visible, 0) + FILL(inFlight, 0)',
      ),
    );
    assert.equal(alarms.length, 2, 'an upper and a lower alarm on visible + in-flight messages');
    const metricNames = alarms[0]!.Properties.Metrics.filter((m: any) => m.MetricStat)
      .map((m: any) => m.MetricStat.Metric.MetricName)
      .sort();
    assert.deepEqual(metricNames, ['ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesVisible']);
    const policies = resourcesOf('AWS::ApplicationAutoScaling::ScalingPolicy');
    assert.ok(
      policies.every((p) => p.Properties.PolicyType !== 'TargetTrackingScaling'),
      'no CPU target tracking',
    );
  });

  it('asks for tasks by the images of a backlog: a job’s message is ten images, one more task per 5,000 of them', () => {
    // The upper alarm's threshold plus a step's lower bound is the backlog, in messages, where the step starts.
    const upper = resourcesOf('AWS::CloudWatch::Alarm').find(
      (a) => a.Properties.ComparisonOperator === 'GreaterThanOrEqualToThreshold' && a.Properties.Metrics?.length,
    )!;
    const policy = resourcesOf('AWS::ApplicationAutoScaling::ScalingPolicy').find((p) =>
      p.Properties.StepScalingPolicyConfiguration?.StepAdjustments?.some(
        (step: { ScalingAdjustment: number }) => step.ScalingAdjustment === 2,
      ),
    )!;
    const steps = policy.Properties.StepScalingPolicyConfiguration.StepAdjustments as Array<{
      MetricIntervalLowerBound?: number;
      ScalingAdjustment: number;
    }>;
    const tasksFor = (messages: number) =>
      Math.max(
        ...steps
          .filter((step) => messages >= upper.Properties.Threshold + (step.MetricIntervalLowerBound ?? 0))
          .map((step) => step.ScalingAdjustment),
      );
    assert.equal(IMAGES_PER_MESSAGE, 10);
    assert.equal(tasksFor(1), 1, 'one upload: one task');
    assert.equal(tasksFor(499), 1, '4,990 images of a job: one task');
    assert.equal(
      tasksFor(5_000 / IMAGES_PER_MESSAGE),
      2,
      '5,000 images of a job: two tasks (the test stack’s maximum)',
    );
  });

  it('scales from zero without metric data: each backlog term is FILLed with 0, and the scaling alarms say how they treat missing data', () => {
    const alarms = resourcesOf('AWS::CloudWatch::Alarm').filter((a) =>
      a.Properties.Metrics?.some((m: { Expression?: string }) => m.Expression?.includes('inFlight')),
    );
    assert.equal(alarms.length, 2);
    for (const alarm of alarms)
      assert.match(
        alarm.Properties.Metrics.find((m: { Expression?: string }) => m.Expression).Expression,
        /^FILL\(visible, 0\) \+ FILL\(inFlight, 0\)$/,
      );
    const treatments = alarms
      .map((alarm) => [alarm.Properties.ComparisonOperator, alarm.Properties.TreatMissingData])
      .sort();
    assert.deepEqual(treatments, [
      ['GreaterThanOrEqualToThreshold', 'notBreaching'],
      ['LessThanOrEqualToThreshold', 'breaching'],
    ]);
    for (const alarm of resourcesOf('AWS::CloudWatch::Alarm'))
      assert.ok(
        alarm.Properties.TreatMissingData,
        `${alarm.Properties.AlarmDescription ?? 'an alarm'} states how it treats missing data`,
      );
  });

  it('creates the service with a desired count of 0: a first deploy starts no GPU task and waits for none', () => {
    const [service] = resourcesOf('AWS::ECS::Service');
    assert.equal(
      service!.Properties.DesiredCount,
      0,
      'without it CloudFormation creates the service with 1 and waits for a GPU task',
    );
  });

  it('creates the service only after its capacity provider is associated with the cluster', () => {
    const services = template.findResources('AWS::ECS::Service');
    const [associationId] = Object.keys(template.findResources('AWS::ECS::ClusterCapacityProviderAssociations'));
    assert.ok(associationId);
    assert.ok(
      (Object.values(services)[0] as { DependsOn?: string[] }).DependsOn?.includes(associationId),
      'the service DependsOn the association',
    );
  });

  it('builds the worker image for linux/amd64 whatever machine deploys', () => {
    const assembly = (stack.node.root as App).synth();
    const manifest = assembly.artifacts.find(
      (artifact): artifact is AssetManifestArtifact => artifact instanceof AssetManifestArtifact,
    )!;
    const images = Object.values(JSON.parse(readFileSync(manifest.file, 'utf8')).dockerImages) as Array<{
      source: { platform?: string };
    }>;
    assert.equal(images.length, 1);
    assert.equal(images[0]!.source.platform, 'linux/amd64');
  });

  it('puts the GPU hosts in the Availability Zones -c availabilityZones names (doctor says which offer the type)', () => {
    const zoned = synthesizeStack({ availabilityZones: ['eu-west-1b', 'eu-west-1c'] }).template;
    const zones = Object.values(zoned.findResources('AWS::EC2::Subnet'))
      .map((subnet) => (subnet as { Properties: { AvailabilityZone: string } }).Properties.AvailabilityZone)
      .sort();
    assert.deepEqual(zones, ['eu-west-1b', 'eu-west-1c']);
  });

  it('needs no NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
  });

  it('uses Spot only when asked', () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MixedInstancesPolicy: Match.absent() });
    assert.ok(!JSON.stringify(template.toJSON()).includes('ECS_ENABLE_SPOT_INSTANCE_DRAINING'));
  });

  it('with Spot: several one-GPU instance types, capacity rebalancing, and Spot draining in the hosts’ user data', () => {
    const spot = synthesizeStack({ spot: true, maxInstances: 4 }).template;
    spot.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MaxSize: '4',
      CapacityRebalance: true,
      MixedInstancesPolicy: Match.objectLike({
        InstancesDistribution: Match.objectLike({
          OnDemandPercentageAboveBaseCapacity: 0,
          SpotAllocationStrategy: 'price-capacity-optimized',
        }),
        LaunchTemplate: Match.objectLike({
          Overrides: [{ InstanceType: 'g4dn.xlarge' }, { InstanceType: 'g5.xlarge' }, { InstanceType: 'g6.xlarge' }],
        }),
      }),
    });
    const [launchTemplate] = Object.values(spot.findResources('AWS::EC2::LaunchTemplate')) as Array<{
      Properties: Record<string, any>;
    }>;
    assert.match(
      JSON.stringify(launchTemplate!.Properties.LaunchTemplateData.UserData),
      /ECS_ENABLE_SPOT_INSTANCE_DRAINING=true/,
    );
  });
});

describe('PipelineStack: least privilege', () => {
  it('lets the task read its bucket, write results/*, consume the queue and split its job messages, protect itself, send its completion events, count jobs, and nothing else', () => {
    const statements = taskRolePolicy();
    const bucketArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.storage.bucket.node.defaultChild as never), 'Arn'] };
    // Statements may be merged (minimizePolicies): a statement grants its actions on each of its resources.
    const actionsOn = (resource: unknown) =>
      [
        ...new Set(
          statements
            .filter((s) => [s.Resource].flat().some((r) => JSON.stringify(r) === JSON.stringify(resource)))
            .flatMap((s) => [s.Action].flat()),
        ),
      ].sort();
    // Reads: uploads, and any image a job names in the bucket; writes: results only.
    assert.deepEqual(actionsOn({ 'Fn::Join': ['', [bucketArn, '/*']] }), ['s3:GetObject']);
    assert.deepEqual(actionsOn({ 'Fn::Join': ['', [bucketArn, '/results/*']] }), ['s3:PutObject']);
    assert.deepEqual(actionsOn(bucketArn), ['s3:ListBucket']);
    const dlqArn = {
      'Fn::GetAtt': [stack.getLogicalId(stack.storage.deadLetterQueue.node.defaultChild as never), 'Arn'],
    };
    assert.deepEqual(
      actionsOn(dlqArn),
      ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      'the DLQ: send only (unusable messages go there at once)',
    );
    const queueArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.storage.queue.node.defaultChild as never), 'Arn'] };
    assert.deepEqual(
      actionsOn(queueArn),
      [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ],
      'the queue: consume, and send (a job message received again is split into one message per image)',
    );
    const tableArn = { 'Fn::GetAtt': [stack.getLogicalId(stack.jobs.table.node.defaultChild as never), 'Arn'] };
    assert.deepEqual(
      actionsOn(tableArn),
      ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      'the jobs table: its items, no scans or queries, nothing else',
    );
    const all = statements.flatMap((s) => [s.Action].flat());
    for (const action of all)
      assert.match(
        action,
        /^(s3:(GetObject|PutObject|ListBucket)|sqs:(ReceiveMessage|ChangeMessageVisibility|GetQueueUrl|DeleteMessage|GetQueueAttributes|SendMessage)|ecs:(UpdateTaskProtection|GetTaskProtection)|events:PutEvents|dynamodb:(GetItem|PutItem|UpdateItem|DeleteItem))$/,
      );
    assert.ok(!all.some((action) => /Delete(Object|Bucket)|\*/.test(action)));
    assert.ok(statements.every((s) => s.Effect === 'Allow' && s.Resource !== '*'));
  });
});

describe('PipelineStack: source buckets (-c sourceBuckets)', () => {
  const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/0c2d7e3a-1b4f-4e8e-9f0a-2b3c4d5e6f70';
  const withSources = synthesizeStack({ sourceBuckets: ['my-archive', 'other.archive'], sourceBucketKeys: [keyArn] });

  it('grants the task role GetObject on their objects and Decrypt with their keys, and changes nothing on them', () => {
    const statements = withSources.template.findResources('AWS::IAM::Policy');
    const text = JSON.stringify(statements);
    for (const bucket of ['my-archive', 'other.archive'])
      assert.ok(text.includes(`:s3:::${bucket}/*`), `GetObject on ${bucket}/*`);
    const sourceStatement = Object.values(statements)
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .find((s: any) => JSON.stringify(s.Resource).includes(':s3:::my-archive/*'));
    assert.deepEqual([sourceStatement.Action].flat(), ['s3:GetObject'], 'read only: no list, no write, no delete');
    const decrypt = Object.values(statements)
      .flatMap((p: any) => p.Properties.PolicyDocument.Statement)
      .find((s: any) => [s.Action].flat().includes('kms:Decrypt'));
    assert.deepEqual([decrypt.Resource].flat(), [keyArn]);
    assert.ok(decrypt.Condition.StringLike['kms:ViaService'], 'decrypt only through S3');
    // Nothing that would write to a bucket the stack does not own: no policy, no notification of it.
    const all = JSON.stringify(withSources.template.toJSON().Resources);
    for (const type of ['AWS::S3::BucketPolicy', 'Custom::S3BucketNotifications', 'AWS::KMS::Key'])
      for (const resource of Object.values(withSources.template.findResources(type)))
        assert.ok(!JSON.stringify(resource).includes('my-archive'), `${type} touches my-archive`);
    assert.ok(all.includes('my-archive,other.archive'), 'the worker is told SOURCE_BUCKETS');
    withSources.template.hasOutput(STACK_OUTPUT.sourceBuckets, { Value: 'my-archive,other.archive' });
  });

  it('without them, grants nothing outside the pipeline and says "-" in its output', () => {
    const text = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    assert.ok(!text.includes('kms:Decrypt'));
    assert.ok(!/:s3:::[a-z]/.test(text), 'no bucket named by name');
    template.hasOutput(STACK_OUTPUT.sourceBuckets, { Value: '-' });
  });

  it('refuses bad names and keys at synth, naming the context key', () => {
    assert.throws(
      () => readPipelineParameters((key) => ({ sourceBuckets: 'My_Archive' })[key]),
      /sourceBuckets must list bucket names .* got "My_Archive"/,
    );
    assert.throws(
      () => readPipelineParameters((key) => ({ sourceBuckets: 'a-bucket', sourceBucketKeys: 'alias/mine' })[key]),
      /sourceBucketKeys must list KMS key ARNs/,
    );
    assert.throws(
      () => readPipelineParameters((key) => ({ sourceBucketKeys: keyArn })[key]),
      /no sourceBuckets are given/,
    );
  });
});

describe('PipelineStack: operations', () => {
  it('alarms on a non-empty DLQ and on old messages', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: Match.anyValue(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 1800,
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::Logs::MetricFilter', 3);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('delivers alarms: the topic’s key is customer-managed, rotated, and lets CloudWatch use it (the AWS-managed SNS key does not)', () => {
    const keyId = stack.getLogicalId(stack.monitoring.alarmKey.node.defaultChild as never);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']),
            Effect: 'Allow',
          }),
        ]),
      }),
    });
    assert.ok(!JSON.stringify(template.toJSON()).includes('alias/aws/sns'));
  });

  it('lets this stack’s alarms, and only them, publish to the alarm topic (its policy replaces SNS’s default one)', () => {
    const alarmIds = ['DeadLetters', 'OldestMessage'].map((name) =>
      stack.getLogicalId(stack.monitoring.node.findChild(name).node.defaultChild as never),
    );
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              ArnEquals: { 'aws:SourceArn': alarmIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) },
              StringEquals: { 'aws:SourceAccount': '123456789012' },
            },
          }),
        ]),
      }),
    });
  });

  it('lets the error-result and job-completed rules, and only them, publish to the error topic', () => {
    const { stack: notifying, template: withErrors } = synthesizeStack({ notifyErrorsEmail: 'you@example.com' });
    const ruleIds = [notifying.errorNotifications!.rule, notifying.errorNotifications!.jobsRule].map((rule) =>
      notifying.getLogicalId(rule.node.defaultChild as never),
    );
    withErrors.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['alexnet-pipeline'],
        'detail-type': ['Job Completed'],
        detail: { bucket: Match.anyValue() },
      },
      Targets: Match.arrayWith([
        Match.objectLike({
          InputTransformer: Match.objectLike({ InputTemplate: Match.stringLikeRegexp('job <.*> over .* completed') }),
        }),
      ]),
    });
    const topicPolicies = Object.values(withErrors.findResources('AWS::SNS::TopicPolicy')) as Array<{
      Properties: { PolicyDocument: { Statement: Array<Record<string, any>> } };
    }>;
    const eventsStatements = topicPolicies
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => statement.Principal?.Service === 'events.amazonaws.com');
    assert.deepEqual(
      eventsStatements.map((statement) => [statement.Effect, statement.Action, statement.Condition]),
      [
        [
          'Allow',
          'sns:Publish',
          { ArnEquals: { 'aws:SourceArn': ruleIds.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })) } },
        ],
      ],
      'one Allow, scoped to the two rules',
    );
  });

  it('outputs what the CLI reads, the key layout included', () => {
    for (const name of Object.values(STACK_OUTPUT)) template.hasOutput(name, {});
    template.hasOutput(STACK_OUTPUT.uploadsPrefix, { Value: 'uploads/' });
    const custom = synthesizeStack({ uploadsPrefix: 'in/', resultsPrefix: 'labels/' }).template;
    custom.hasOutput(STACK_OUTPUT.uploadsPrefix, { Value: 'in/' });
    custom.hasOutput(STACK_OUTPUT.resultsPrefix, { Value: 'labels/' });
  });

  it('keeps job state in an on-demand table with TTL and point-in-time recovery, and tells the worker its name', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    const tableRef = { Ref: stack.getLogicalId(stack.jobs.table.node.defaultChild as never) };
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({ Environment: Match.arrayWith([{ Name: 'JOBS_TABLE', Value: tableRef }]) }),
      ],
    });
    template.hasOutput(STACK_OUTPUT.jobsTable, { Value: tableRef });
  });

  it('tells the worker the queue’s maxReceiveCount, so that it knows a last receive (a job’s DLQ count)', () => {
    for (const maxReceiveCount of [3, 7]) {
      const { template: synthesized } = synthesizeStack({ maxReceiveCount });
      synthesized.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: Match.objectLike({ maxReceiveCount }),
      });
      synthesized.hasResourceProperties('AWS::ECS::TaskDefinition', {
        ContainerDefinitions: [
          Match.objectLike({
            Environment: Match.arrayWith([{ Name: 'MAX_RECEIVE_COUNT', Value: String(maxReceiveCount) }]),
          }),
        ],
      });
    }
  });

  it('passes cdk-nag AwsSolutions, every acknowledgement carrying a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    assert.deepEqual(findings, []);
    assert.equal(report.success, true);
  });
});

describe('readPipelineParameters', () => {
  it('applies the documented defaults', () => {
    assert.deepEqual(
      readPipelineParameters(() => undefined),
      PARAMETER_DEFAULTS,
    );
  });

  it('reads strings from the command line', () => {
    const context: Record<string, string> = {
      instanceType: 'g5.2xlarge',
      maxInstances: '8',
      spot: 'true',
      batchSize: '64',
    };
    const parameters = readPipelineParameters((key) => context[key]);
    assert.deepEqual(
      [parameters.instanceType, parameters.maxInstances, parameters.spot, parameters.batchSize],
      ['g5.2xlarge', 8, true, 64],
    );
  });

  for (const [context, named] of [
    [{ instanceType: 'm5.large' }, 'instanceType'],
    [{ instanceType: 'p3.2xlarge' }, 'instanceType p3.2xlarge: Volta'],
    [{ spotInstanceTypes: 'g4dn.xlarge,p3dn.24xlarge' }, 'spotInstanceTypes p3dn'],
    [{ spotInstanceTypes: ' , ' }, 'spotInstanceTypes'],
    [{ maxInstances: '0' }, 'maxInstances'],
    [{ spot: 'maybe' }, 'spot'],
    [{ batchSize: 'big' }, 'batchSize'],
    [{ uploadsPrefix: 'uploads' }, 'uploadsPrefix'],
    [{ resultsPrefix: 'uploads/results/' }, 'resultsPrefix'],
    [{ logRetentionDays: '10' }, 'logRetentionDays'],
    [{ alarmEmail: 'nobody' }, 'alarmEmail'],
    [{ availabilityZones: 'eu-west-1a' }, 'availabilityZones must list 2 or more'],
    [{ availabilityZones: 'eu-west-1a,eu-west-1a' }, 'availabilityZones'],
    [{ availabilityZones: 'eu-west-1a,west' }, 'availabilityZones'],
  ] as const) {
    it(`rejects a bad ${named} with a message naming it`, () => {
      assert.throws(
        () => readPipelineParameters((key) => (context as Record<string, string>)[key]),
        new RegExp(`invalid CDK context: .*${named}`),
      );
    });
  }
});

describe('readPipelineParameters: keys and lists', () => {
  it('refuses a misspelt key, suggesting the right one, and ignores the CDK’s own context', () => {
    const context: Record<string, string> = { maxInstance: '4' };
    assert.throws(
      () =>
        readPipelineParameters(
          (key) => context[key],
          ['maxInstance', '@aws-cdk/aws-iam:minimizePolicies', 'aws:cdk:enable-path-metadata'],
        ),
      /unknown context key "maxInstance" \(did you mean maxInstances\?\)/,
    );
    assert.doesNotThrow(() =>
      readPipelineParameters(() => undefined, ['@aws-cdk/core:enablePartitionLiterals', 'acknowledged-issue-numbers']),
    );
  });

  it('reads the Spot instance types as a comma list', () => {
    const context: Record<string, string> = { spot: 'true', spotInstanceTypes: 'g5.xlarge, g6.xlarge' };
    assert.deepEqual(readPipelineParameters((key) => context[key]).spotInstanceTypes, ['g5.xlarge', 'g6.xlarge']);
  });
});

describe('every documented context combination', { skip: crossChecksSkipped }, () => {
  const combinations: Array<Partial<PipelineParameters>> = [
    {},
    { spot: true },
    { spot: true, spotInstanceTypes: ['g5.xlarge', 'g6.xlarge'], maxInstances: 4 },
    { instanceType: 'g5.xlarge', maxInstances: 4 },
    { instanceType: 'g6.xlarge', spot: true, maxInstances: 8 },
    { uploadsPrefix: 'in/', resultsPrefix: 'labels/' },
    {
      alarmEmail: 'ops@example.com',
      logRetentionDays: 90,
      oldestMessageAlarmMinutes: 60,
      batchSize: 64,
      taskMemoryMiB: 12288,
      maxReceiveCount: 5,
    },
    { notifyErrorsEmail: 'ops@example.com', notifyErrorsTopicArn: 'arn:aws:sns:eu-west-1:123456789012:team-alerts' },
    { availabilityZones: ['eu-west-1b', 'eu-west-1c'] },
  ];
  const templates: string[] = [];
  for (const [index, overrides] of combinations.entries()) {
    it(`synthesizes and passes cdk-nag with ${JSON.stringify(overrides)}`, () => {
      const { stack: combined, template: synthesized } = synthesizeStack(overrides);
      const report = new AwsSolutionsChecks().validateScope(combined);
      assert.deepEqual(
        report.violations.flatMap((v) => v.violatingResources.map(() => `${v.ruleName}: ${v.description}`)),
        [],
      );
      templates[index] = path.join(lintFolder, `combination-${index}.template.json`);
      writeFileSync(templates[index]!, JSON.stringify(synthesized.toJSON()));
    });
  }
  it('cfn-lint finds nothing in any of them', { skip: noCfnLint }, () => {
    assert.equal(templates.filter(Boolean).length, combinations.length, 'every combination synthesized');
    // W3010: these stacks are given an account and region, so the CDK names placeholder AZs
    // (dummy1a) where `cdk synth`'s environment-agnostic template has Fn::GetAZs (linted in cdk-synth.test).
    const lint = spawnSync('cfn-lint', ['--ignore-checks', ...ACCEPTED_CFN_LINT, 'W3010', '--', ...templates], {
      encoding: 'utf8',
    });
    assert.equal(lint.status, 0, `cfn-lint:\n${lint.stdout}${lint.stderr}`);
  });
});
