import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { QUERY_OUTPUT_RETENTION_DAYS } from '../../infra/constructs/result-queries.js';
import { readPipelineParameters } from '../../pipeline/deploy-parameters.js';
import { RESULT_EVENT } from '../../pipeline/result-events.js';
import { RAW_RESULT_COLUMNS, RAW_RESULTS_TABLE } from '../../pipeline/results-table.js';
import { STACK_OUTPUT } from '../../pipeline/stack-outputs.js';
import { synthesizeStack } from '../helpers/synthesize-stack.js';

const { stack, template } = synthesizeStack();
const resourcesOf = (t: Template, type: string) =>
  Object.values(t.findResources(type)) as Array<{ Properties: Record<string, any> }>;

describe('PipelineStack: SQL over the results (Glue + Athena)', () => {
  it('defines the Glue table over results/ with the JSON SerDe and exactly the raw columns of the one definition', () => {
    const [table] = resourcesOf(template, 'AWS::Glue::Table');
    const input = table!.Properties.TableInput;
    assert.equal(input.Name, RAW_RESULTS_TABLE);
    assert.equal(input.TableType, 'EXTERNAL_TABLE');
    assert.deepEqual(
      input.StorageDescriptor.Columns,
      RAW_RESULT_COLUMNS.map((column) => ({ Name: column.name, Type: column.type })),
    );
    assert.equal(input.StorageDescriptor.SerdeInfo.SerializationLibrary, 'org.openx.data.jsonserde.JsonSerDe');
    assert.equal(input.StorageDescriptor.SerdeInfo.Parameters['ignore.malformed.json'], 'true');
    const location = JSON.stringify(input.StorageDescriptor.Location);
    assert.match(location, /results\//);
    assert.match(location, new RegExp(stack.getLogicalId(stack.storage.bucket.node.defaultChild as never)));
    assert.equal(input.StorageDescriptor.InputFormat, 'org.apache.hadoop.mapred.TextInputFormat');
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: 'testpipeline_results' } });
  });

  it('gives Athena a workgroup that enforces encrypted output, a scan limit and engine version 3', () => {
    const [workGroup] = resourcesOf(template, 'AWS::Athena::WorkGroup');
    const configuration = workGroup!.Properties.WorkGroupConfiguration;
    assert.equal(configuration.EnforceWorkGroupConfiguration, true);
    assert.equal(configuration.BytesScannedCutoffPerQuery, 10 * 1024 ** 3);
    assert.equal(configuration.ResultConfiguration.EncryptionConfiguration.EncryptionOption, 'SSE_S3');
    assert.match(JSON.stringify(configuration.ResultConfiguration.OutputLocation), /athena\//);
    assert.equal(configuration.EngineVersion.SelectedEngineVersion, 'Athena engine version 3');
    assert.equal(workGroup!.Properties.RecursiveDeleteOption, true);
    const limited = synthesizeStack({ queryScanLimitGb: 2 }).template;
    assert.equal(
      resourcesOf(limited, 'AWS::Athena::WorkGroup')[0]!.Properties.WorkGroupConfiguration.BytesScannedCutoffPerQuery,
      2 * 1024 ** 3,
    );
  });

  it('writes query output to its own encrypted, private bucket whose objects expire', () => {
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
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ ExpirationInDays: QUERY_OUTPUT_RETENTION_DAYS, Status: 'Enabled' }),
        ]),
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'query-output/' }),
    });
  });

  it('names the database and the workgroup in its outputs, for `query`', () => {
    template.hasOutput(STACK_OUTPUT.resultsDatabase, {});
    template.hasOutput(STACK_OUTPUT.queryWorkGroup, {});
  });
});

describe('PipelineStack: completion events', () => {
  it('lets the worker send events to the default bus with the pipeline source only, and tells it the bus', () => {
    const policies = resourcesOf(template, 'AWS::IAM::Policy');
    const statement = policies
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>)
      .find((s) => s.Action === 'events:PutEvents');
    assert.ok(statement, 'a PutEvents statement');
    assert.deepEqual(statement.Condition, { StringEquals: { 'events:source': RESULT_EVENT.source } });
    assert.match(JSON.stringify(statement.Resource), /event-bus\/default/);
    const [taskDefinition] = resourcesOf(template, 'AWS::ECS::TaskDefinition');
    const environment = taskDefinition!.Properties.ContainerDefinitions[0].Environment as Array<{
      Name: string;
      Value: unknown;
    }>;
    assert.deepEqual(
      environment.find((variable) => variable.Name === 'EVENT_BUS_NAME'),
      { Name: 'EVENT_BUS_NAME', Value: 'default' },
    );
  });

  it('has no error notifications unless asked', () => {
    assert.equal(resourcesOf(template, 'AWS::Events::Rule').length, 0);
  });

  it('-c notifyErrorsEmail: a rule for error results of this bucket sends a message to a new encrypted topic with that subscription', () => {
    const { stack: notified, template: withEmail } = synthesizeStack({ notifyErrorsEmail: 'ops@example.com' });
    const [rule] = resourcesOf(withEmail, 'AWS::Events::Rule');
    const pattern = rule!.Properties.EventPattern;
    assert.deepEqual(pattern.source, [RESULT_EVENT.source]);
    assert.deepEqual(pattern['detail-type'], [RESULT_EVENT.detailType]);
    assert.deepEqual(pattern.detail.status, ['error']);
    assert.deepEqual(pattern.detail.bucket, [
      { Ref: notified.getLogicalId(notified.storage.bucket.node.defaultChild as never) },
    ]);
    assert.equal(rule!.Properties.EventBusName, 'default');
    const topicId = notified.getLogicalId(notified.errorNotifications!.topic!.node.defaultChild as never);
    assert.deepEqual(rule!.Properties.Targets[0].Arn, { Ref: topicId });
    assert.match(rule!.Properties.Targets[0].InputTransformer.InputTemplate, /could not be classified/);
    withEmail.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: topicId },
    });
    withEmail.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    withEmail.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'AllowEventBridgeToPublishErrorResults',
            Principal: { Service: 'events.amazonaws.com' },
          }),
        ]),
      },
    });
  });

  it('-c notifyErrorsTopicArn: the rule targets the given topic', () => {
    const arn = 'arn:aws:sns:eu-west-1:123456789012:team-alerts';
    const [rule] = resourcesOf(synthesizeStack({ notifyErrorsTopicArn: arn }).template, 'AWS::Events::Rule');
    assert.equal(rule!.Properties.Targets[0].Arn, arn);
  });

  it('refuses a bad address, topic ARN or scan limit, naming the key', () => {
    const read = (context: Record<string, string>) => () =>
      readPipelineParameters((key) => context[key], Object.keys(context));
    assert.throws(read({ notifyErrorsEmail: 'nobody' }), /notifyErrorsEmail must be an e-mail address, got "nobody"/);
    assert.throws(read({ notifyErrorsTopicArn: 'team-alerts' }), /notifyErrorsTopicArn must be an SNS topic ARN/);
    assert.throws(read({ queryScanLimitGb: '0' }), /queryScanLimitGb must be an integer from 1 to 100000, got "0"/);
  });
});
