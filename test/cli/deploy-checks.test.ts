import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { runDeployChecks, type DeployCheckDependencies } from '../../cli/deploy-checks/deploy-checks.js';
import { PARAMETER_DEFAULTS } from '../../pipeline/deploy-parameters.js';
import { GPU_AMI_PARAMETER } from '../../pipeline/gpu-runtime.js';
import { noMoto, startMoto } from '../helpers/moto-server.js';
import { runCli, withoutAwsCredentials } from '../helpers/run-cli.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
const region = 'eu-west-1';
const dockerOk = () => ({ status: 0, stdout: '28.2.2 linux/x86_64\n', stderr: '' });

/** Clients for each service, mocked per instance (shapes from the AWS API references). */
function mockedDependencies(run: DeployCheckDependencies['run'] = dockerOk) {
  const clients = {
    sts: new STSClient({ region, credentials }),
    cloudFormation: new CloudFormationClient({ region, credentials }),
    ec2: new EC2Client({ region, credentials }),
    serviceQuotas: new ServiceQuotasClient({ region, credentials }),
    ssm: new SSMClient({ region, credentials }),
    // Called only for -c sourceBuckets (the tests of those use moto's S3).
    s3: new S3Client({ region, credentials, endpoint: 'http://127.0.0.1:9' }),
  };
  const mocks = {
    sts: mockClient(clients.sts),
    cloudFormation: mockClient(clients.cloudFormation),
    ec2: mockClient(clients.ec2),
    serviceQuotas: mockClient(clients.serviceQuotas),
    ssm: mockClient(clients.ssm),
  };
  mocks.sts
    .on(GetCallerIdentityCommand)
    .resolves({ UserId: 'AIDAEXAMPLE', Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/deployer' });
  mocks.cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'CDKToolkit',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [{ OutputKey: 'BootstrapVersion', OutputValue: '27' }],
      },
    ],
  });
  mocks.ec2
    .on(DescribeInstanceTypeOfferingsCommand, { LocationType: 'region' })
    .resolves({ InstanceTypeOfferings: [{ InstanceType: 'g4dn.xlarge', LocationType: 'region', Location: region }] });
  mocks.ec2.on(DescribeInstanceTypeOfferingsCommand, { LocationType: 'availability-zone' }).resolves({
    InstanceTypeOfferings: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'].map((zone) => ({
      InstanceType: 'g4dn.xlarge',
      LocationType: 'availability-zone',
      Location: zone,
    })),
  });
  mocks.ec2.on(DescribeAvailabilityZonesCommand).resolves({
    AvailabilityZones: ['eu-west-1c', 'eu-west-1a', 'eu-west-1b'].map((zone, i) => ({
      ZoneName: zone,
      ZoneId: `euw1-az${i + 1}`,
      State: 'available',
      RegionName: region,
      ZoneType: 'availability-zone',
    })),
  });
  mocks.ec2.on(DescribeInstanceTypesCommand).resolves({
    InstanceTypes: [
      { InstanceType: 'g4dn.xlarge', VCpuInfo: { DefaultVCpus: 4, DefaultCores: 2, DefaultThreadsPerCore: 2 } },
    ],
  });
  mocks.serviceQuotas.on(GetServiceQuotaCommand).resolves({
    Quota: {
      ServiceCode: 'ec2',
      QuotaCode: 'L-DB2E81BA',
      QuotaName: 'Running On-Demand G and VT instances',
      Value: 8,
      Unit: 'None',
      Adjustable: true,
    },
  });
  mocks.ssm
    .on(GetParameterCommand)
    .resolves({ Parameter: { Name: GPU_AMI_PARAMETER, Type: 'String', Value: 'ami-0123456789abcdef0', Version: 42 } });
  return { dependencies: { ...clients, region, run } as DeployCheckDependencies, mocks };
}

const statusOf = (results: Awaited<ReturnType<typeof runDeployChecks>>, name: string) =>
  results.find((result) => result.name === name)!;

describe('doctor checks (aws-sdk-client-mock)', () => {
  it('passes every check for a bootstrapped account with quota, Docker and the AMI', async () => {
    const { dependencies } = mockedDependencies();
    const results = await runDeployChecks(PARAMETER_DEFAULTS, dependencies);
    assert.deepEqual(
      results.map((result) => [result.name, result.status]),
      [
        ['region', 'ok'],
        ['credentials', 'ok'],
        ['Docker', 'ok'],
        ['CDK bootstrap', 'ok'],
        ['instance types', 'ok'],
        ['zones', 'ok'],
        ['vCPU quota', 'ok'],
        ['GPU AMI', 'ok'],
      ],
    );
  });

  it('checks the instance types in the Availability Zones the VPC will use, and names the ones to pass when they lack them', async () => {
    const { dependencies, mocks } = mockedDependencies();
    // The region's first two zones (alphabetically, as Fn::GetAZs lists them) are 1a and 1b; only 1b and 1c offer the type.
    mocks.ec2.on(DescribeInstanceTypeOfferingsCommand, { LocationType: 'availability-zone' }).resolves({
      InstanceTypeOfferings: ['eu-west-1b', 'eu-west-1c'].map((zone) => ({
        InstanceType: 'g4dn.xlarge',
        LocationType: 'availability-zone',
        Location: zone,
      })),
    });
    const partly = statusOf(await runDeployChecks(PARAMETER_DEFAULTS, dependencies), 'zones');
    assert.equal(partly.status, 'warn');
    assert.equal(
      partly.detail,
      "g4dn.xlarge is not offered in eu-west-1a, of the VPC's zones (the region's first 2): instances launch only in the others; deploy with -c availabilityZones=eu-west-1b,eu-west-1c",
    );
    const chosen = statusOf(
      await runDeployChecks({ ...PARAMETER_DEFAULTS, availabilityZones: ['eu-west-1b', 'eu-west-1c'] }, dependencies),
      'zones',
    );
    assert.deepEqual(
      [chosen.status, chosen.detail],
      ['ok', 'g4dn.xlarge offered in eu-west-1b, eu-west-1c, the zones of -c availabilityZones'],
    );
    mocks.ec2.on(DescribeInstanceTypeOfferingsCommand, { LocationType: 'availability-zone' }).resolves({
      InstanceTypeOfferings: [
        { InstanceType: 'g4dn.xlarge', LocationType: 'availability-zone', Location: 'eu-west-1c' },
      ],
    });
    const none = statusOf(await runDeployChecks(PARAMETER_DEFAULTS, dependencies), 'zones');
    assert.equal(none.status, 'fail');
    assert.match(
      none.detail,
      /not offered in eu-west-1a, eu-west-1b, .*no GPU instance could launch; only eu-west-1c of this region offers it: pick another region or instance type$/,
    );
  });

  it('computes the vCPUs maxInstances needs and names the quota increase when it is short', async () => {
    const { dependencies, mocks } = mockedDependencies();
    mocks.serviceQuotas.on(GetServiceQuotaCommand).resolves({ Quota: { QuotaCode: 'L-DB2E81BA', Value: 4 } });
    const result = statusOf(
      await runDeployChecks({ ...PARAMETER_DEFAULTS, maxInstances: 3 }, dependencies),
      'vCPU quota',
    );
    assert.equal(result.status, 'fail');
    assert.match(
      result.detail,
      /is 4 vCPUs, but maxInstances 3 × 4 vCPUs needs 12: .*--quota-code L-DB2E81BA --desired-value 12/,
    );
  });

  it('uses the Spot quota, and the largest type of the Spot pool, with spot=true', async () => {
    const { dependencies, mocks } = mockedDependencies();
    mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({
      InstanceTypeOfferings: ['g4dn.xlarge', 'g5.xlarge', 'g6.xlarge'].map((InstanceType) => ({
        InstanceType: InstanceType as never,
        LocationType: 'region',
        Location: region,
      })),
    });
    mocks.ec2.on(DescribeInstanceTypesCommand).resolves({
      InstanceTypes: [
        { InstanceType: 'g5.xlarge', VCpuInfo: { DefaultVCpus: 4 } },
        { InstanceType: 'g6.xlarge', VCpuInfo: { DefaultVCpus: 4 } },
      ],
    });
    mocks.serviceQuotas
      .on(GetServiceQuotaCommand, { QuotaCode: 'L-3819A6DF' })
      .resolves({ Quota: { QuotaCode: 'L-3819A6DF', Value: 64 } });
    const result = statusOf(
      await runDeployChecks({ ...PARAMETER_DEFAULTS, spot: true, maxInstances: 4 }, dependencies),
      'vCPU quota',
    );
    assert.equal(result.status, 'ok');
    assert.match(result.detail, /All G and VT Spot Instance Requests" is 64 vCPUs; maxInstances 4 × 4 vCPUs needs 16/);
  });

  it('falls back to the default quota when the account has no applied value', async () => {
    const { dependencies, mocks } = mockedDependencies();
    mocks.serviceQuotas.on(GetServiceQuotaCommand).rejects(
      Object.assign(new Error('The request failed because the specified service does not exist.'), {
        name: 'NoSuchResourceException',
      }),
    );
    mocks.serviceQuotas.on(GetAWSDefaultServiceQuotaCommand).resolves({ Quota: { QuotaCode: 'L-DB2E81BA', Value: 0 } });
    const result = statusOf(await runDeployChecks(PARAMETER_DEFAULTS, dependencies), 'vCPU quota');
    assert.equal(result.status, 'fail');
    assert.match(result.detail, /is 0 vCPUs/);
  });

  it('says how to bootstrap, and names an instance type the region lacks', async () => {
    const { dependencies, mocks } = mockedDependencies();
    mocks.cloudFormation
      .on(DescribeStacksCommand)
      .rejects(Object.assign(new Error('Stack with id CDKToolkit does not exist'), { name: 'ValidationError' }));
    mocks.ec2.on(DescribeInstanceTypeOfferingsCommand).resolves({ InstanceTypeOfferings: [] });
    const results = await runDeployChecks({ ...PARAMETER_DEFAULTS, instanceType: 'g6e.xlarge' }, dependencies);
    assert.match(statusOf(results, 'CDK bootstrap').detail, /run `npx cdk bootstrap aws:\/\/123456789012\/eu-west-1`/);
    assert.equal(statusOf(results, 'instance types').status, 'fail');
    assert.match(statusOf(results, 'instance types').detail, /g6e\.xlarge is not offered in eu-west-1/);
  });

  it('names the variable or profile to set without credentials, and skips what needs them', async () => {
    const { dependencies, mocks } = mockedDependencies();
    mocks.sts
      .on(GetCallerIdentityCommand)
      .rejects(
        Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }),
      );
    const results = await runDeployChecks(PARAMETER_DEFAULTS, dependencies);
    assert.match(
      statusOf(results, 'credentials').detail,
      /set AWS_PROFILE .* or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    assert.equal(statusOf(results, 'GPU AMI').status, 'warn');
  });

  it('needs a Docker that can build linux/amd64', async () => {
    const arm = (_command: string, args: readonly string[]) =>
      args[0] === 'info'
        ? { status: 0, stdout: '28.0.1 linux/aarch64', stderr: '' }
        : { status: 0, stdout: 'default docker\n  linux/arm64', stderr: '' };
    assert.equal(
      statusOf(await runDeployChecks(PARAMETER_DEFAULTS, mockedDependencies(arm).dependencies), 'Docker').status,
      'fail',
    );
    const emulated = (_command: string, args: readonly string[]) =>
      args[0] === 'info'
        ? { status: 0, stdout: '28.0.1 linux/aarch64', stderr: '' }
        : { status: 0, stdout: 'default docker\n  linux/arm64, linux/amd64', stderr: '' };
    assert.equal(
      statusOf(await runDeployChecks(PARAMETER_DEFAULTS, mockedDependencies(emulated).dependencies), 'Docker').status,
      'ok',
    );
    const none = () => ({
      status: 1,
      stdout: '',
      stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock',
    });
    assert.match(
      statusOf(await runDeployChecks(PARAMETER_DEFAULTS, mockedDependencies(none).dependencies), 'Docker').detail,
      /no Docker daemon answers/,
    );
  });
});

describe('doctor against moto (STS, CloudFormation, EC2, SSM)', { skip: noMoto }, () => {
  let moto: Awaited<ReturnType<typeof startMoto>>;
  before(async () => {
    moto = await startMoto();
  });
  after(() => moto?.stop());
  afterEach(() => undefined);

  it('finds the account, the bootstrap stack, g4dn.xlarge, its vCPUs and the AMI parameter', async () => {
    const options = { region, credentials, endpoint: moto.endpoint };
    const cloudFormation = new CloudFormationClient(options);
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: 'CDKToolkit',
        TemplateBody: JSON.stringify({
          Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
          Outputs: { BootstrapVersion: { Value: '27' } },
        }),
      }),
    );
    const results = await runDeployChecks(PARAMETER_DEFAULTS, {
      sts: new STSClient(options),
      cloudFormation,
      ec2: new EC2Client(options),
      serviceQuotas: new ServiceQuotasClient({ ...options, maxAttempts: 1 }),
      ssm: new SSMClient(options),
      s3: new S3Client({ ...options, forcePathStyle: true }),
      region,
      run: dockerOk,
    });
    for (const name of ['credentials', 'CDK bootstrap', 'instance types', 'zones', 'GPU AMI'])
      assert.equal(statusOf(results, name).status, 'ok', `${name}: ${statusOf(results, name).detail}`);
    assert.match(statusOf(results, 'instance types').detail, /4 vCPUs/);
  });

  it('checks each bucket of -c sourceBuckets: there, readable, and its KMS key given', async () => {
    const options = { region, credentials, endpoint: moto.endpoint };
    const s3 = new S3Client({ ...options, forcePathStyle: true });
    const location = { CreateBucketConfiguration: { LocationConstraint: region } } as const;
    // moto records an object's KMS key as given (it does not need the key to exist in its KMS).
    const keyArn = `arn:aws:kms:${region}:123456789012:key/0c2d7e3a-1b4f-4e8e-9f0a-2b3c4d5e6f70`;
    for (const bucket of ['plain-archive', 'kms-archive', 'empty-archive'])
      await s3.send(new CreateBucketCommand({ Bucket: bucket, ...location }));
    await s3.send(new PutObjectCommand({ Bucket: 'plain-archive', Key: 'photos/a.jpg', Body: 'x' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'kms-archive',
        Key: 'photos/a.jpg',
        Body: 'x',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: keyArn,
      }),
    );
    const checks = async (sourceBucketKeys: string[]) =>
      (
        await runDeployChecks(
          {
            ...PARAMETER_DEFAULTS,
            sourceBuckets: ['plain-archive', 'kms-archive', 'empty-archive', 'no-such-archive'],
            sourceBucketKeys,
          },
          {
            sts: new STSClient(options),
            cloudFormation: new CloudFormationClient(options),
            ec2: new EC2Client(options),
            serviceQuotas: new ServiceQuotasClient({ ...options, maxAttempts: 1 }),
            ssm: new SSMClient(options),
            s3,
            region,
            run: dockerOk,
          },
        )
      ).filter((result) => result.name.startsWith('source bucket'));
    const withoutKey = await checks([]);
    assert.deepEqual(
      withoutKey.map((result) => [result.name, result.status]),
      [
        ['source bucket plain-archive', 'ok'],
        ['source bucket kms-archive', 'fail'],
        ['source bucket empty-archive', 'warn'],
        ['source bucket no-such-archive', 'fail'],
      ],
    );
    assert.match(withoutKey[1]!.detail, new RegExp(`add -c sourceBucketKeys=${keyArn.replace(/[/]/g, '\\/')}`));
    assert.match(withoutKey[3]!.detail, /there is no bucket no-such-archive/);
    const withKey = await checks([keyArn]);
    assert.equal(withKey[1]!.status, 'ok', withKey[1]!.detail);
  });
});

describe('alexnet-pipeline doctor', () => {
  it('without credentials says which variable or profile to set, one line per check, exit 1', async () => {
    const home = temporaryFolder('alexnet-home-');
    const run = await runCli(['doctor', '--region', 'eu-west-1'], {
      env: withoutAwsCredentials(home),
    });
    assert.equal(run.status, 1);
    assert.match(run.stdout, /^fail\s+credentials\s+no AWS credentials found: set AWS_PROFILE/m);
    assert.match(run.stdout, /problems? blocks? a deploy/);
    assert.doesNotMatch(run.stderr + run.stdout, /\n\s+at /);
  });

  it('without a region says how to set one, and still checks the credentials', { skip: noMoto }, async () => {
    const home = temporaryFolder('alexnet-home-');
    const moto = await startMoto();
    try {
      const run = await runCli(['doctor'], {
        env: {
          HOME: home,
          AWS_REGION: '',
          AWS_DEFAULT_REGION: '',
          AWS_PROFILE: '',
          AWS_CONFIG_FILE: path.join(home, 'none'),
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'x',
        },
      });
      assert.equal(run.status, 1);
      assert.match(
        run.stdout,
        /^fail\s+region\s+no region: set AWS_REGION \(e\.g\. export AWS_REGION=us-east-1\), pass --region, or add region = … to your profile/m,
      );
      assert.match(
        run.stdout,
        /^ok\s+credentials\s+account 123456789012 as arn:aws:sts::123456789012:user\/moto \(asked STS in us-east-1, as no region is set\)$/m,
      );
      assert.match(run.stdout, /^warn\s+GPU AMI\s+skipped: needs a region$/m);
      assert.doesNotMatch(run.stdout, /Region is missing/);
    } finally {
      await moto.stop();
    }
  });

  it('refuses a misspelt context key as cdk synth does', async () => {
    const run = await runCli(['doctor', '-c', 'maxInstanse=3']);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /unknown context key "maxInstanse" \(did you mean maxInstances\?\)/);
  });
});
