import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { PipelineStack } from './pipeline-stack.js';

/** CDK's singleton that manages bucket notifications (a Lambda-backed custom resource). */
const BUCKET_NOTIFICATIONS_HANDLER_ID = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/**
 * The cdk-nag AwsSolutions findings this stack accepts, each with its reason. Anything not listed
 * here fails the nag test.
 */
export function acknowledgeNagFindings(stack: PipelineStack): void {
  const acknowledge = (scope: IConstruct, id: string, reason: string) =>
    Validations.of(scope).acknowledge({ id, reason });
  const { storage, capacity, worker } = stack;
  const uploadsArn = `<${stack.getLogicalId(storage.bucket.node.defaultChild as never)}.Arn>`;

  acknowledge(
    stack.node.findChild(BUCKET_NOTIFICATIONS_HANDLER_ID),
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "CDK's own bucket-notification custom resource writes its logs with the AWS-managed basic execution policy.",
  );

  const instanceRole = capacity.node.findChild('InstanceRole');
  acknowledge(
    instanceRole,
    'AwsSolutions-IAM5[Action::ecs:Submit*]',
    'The ECS agent on the GPU instances reports task and container state (ecs:Submit*), as the managed ECS instance policy does.',
  );
  acknowledge(
    instanceRole,
    'AwsSolutions-IAM5[Resource::*]',
    'ecs:DiscoverPollEndpoint and ecr:GetAuthorizationToken, which the ECS agent needs, accept no resource narrower than *.',
  );
  acknowledge(
    capacity.autoScalingGroup,
    'AwsSolutions-AS3',
    'ECS managed scaling drives this group; its activity shows in the capacity provider and on the dashboard (GPU instances).',
  );
  if (stack.parameters.spot) {
    // cdk-nag 3.0.2's EC26 cannot read the launch template of a mixed-instances group and throws
    // ("Rule threw an error during validation"), which would fail every Spot synth.
    acknowledge(
      capacity.autoScalingGroup,
      'AwsSolutions-EC26',
      'The root volume is encrypted in the launch template (asserted by the stack tests); cdk-nag cannot read a mixed-instances group and throws instead of checking.',
    );
  }

  acknowledge(
    worker.taskDefinition.obtainExecutionRole(),
    'AwsSolutions-IAM5[Resource::*]',
    'ecr:GetAuthorizationToken, needed to pull the worker image, accepts no resource narrower than *.',
  );
  const taskRole = worker.taskDefinition.taskRole;
  acknowledge(
    taskRole,
    `AwsSolutions-IAM5[Resource::${uploadsArn}/*]`,
    'The worker reads (GetObject only) the uploads, its own results, and the images a job names anywhere in the pipeline bucket (submit s3://<bucket>/<prefix>).',
  );
  acknowledge(
    taskRole,
    `AwsSolutions-IAM5[Resource::${uploadsArn}/${stack.parameters.resultsPrefix}*]`,
    'The worker writes results below the results prefix, and only there.',
  );
  for (const bucket of stack.parameters.sourceBuckets)
    acknowledge(
      taskRole,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/*]`,
      `The worker reads (GetObject only) the images of ${bucket}, a source bucket named at deploy time (-c sourceBuckets).`,
    );
  acknowledge(
    taskRole,
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${stack.getLogicalId(capacity.cluster.node.defaultChild as never)}>/*]`,
    "Each task sets its own scale-in protection; task IDs are not known in advance, so the grant covers this cluster's tasks only.",
  );
  acknowledge(
    worker.taskDefinition,
    'AwsSolutions-ECS2',
    'The environment holds only names and settings (bucket, queue URL, prefixes, batch size), no secrets.',
  );
}
