import { spawnSync } from 'node:child_process';
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeAvailabilityZonesCommand,
  DescribeInstanceTypeOfferingsCommand,
  DescribeInstanceTypesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import {
  GetAWSDefaultServiceQuotaCommand,
  GetServiceQuotaCommand,
  type ServiceQuotasClient,
} from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import type { S3Client } from '@aws-sdk/client-s3';
import { checkSourceBuckets } from './source-bucket-checks.js';
import { GPU_AMI_PARAMETER } from '../../pipeline/gpu-runtime.js';
import { VPC_AVAILABILITY_ZONES, type PipelineParameters } from '../../pipeline/deploy-parameters.js';

/** One line of `doctor`: ok, a warning (cannot tell; does not block), or a failure with its fix. */
export interface CheckResult {
  readonly name: string;
  readonly status: 'ok' | 'warn' | 'fail';
  readonly detail: string;
}

/** The clients and commands `doctor` uses, injected so that tests reach them. */
export interface DeployCheckDependencies {
  readonly sts: STSClient;
  readonly cloudFormation: CloudFormationClient;
  readonly ec2: EC2Client;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly ssm: SSMClient;
  /** For `-c sourceBuckets`: that each can be listed and read. */
  readonly s3: S3Client;
  /**
   * The region the clients use, or undefined when none is configured (then `sts` alone is given one,
   * {@link CREDENTIALS_CHECK_REGION}, so that the credentials are still checked).
   */
  readonly region: string | undefined;
  /** Runs a command, e.g. `docker info`; returns its exit status and output. */
  readonly run: (command: string, args: readonly string[]) => { status: number | null; stdout: string; stderr: string };
}

/** Service Quotas codes of the vCPU limits that govern G and VT instances. */
export const GPU_VCPU_QUOTA = {
  onDemand: { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances' },
  spot: { code: 'L-3819A6DF', name: 'All G and VT Spot Instance Requests' },
} as const;

/** Where `doctor` asks STS who the credentials are when no region is configured (any region answers that). */
export const CREDENTIALS_CHECK_REGION = 'us-east-1';

/** How to set a region, as every AWS tool reads it. */
const SET_A_REGION =
  'set AWS_REGION (e.g. export AWS_REGION=us-east-1), pass --region, or add region = … to your profile in ~/.aws/config (aws configure set region us-east-1)';

/** The CDK bootstrap stack's default name. */
const BOOTSTRAP_STACK = 'CDKToolkit';

/** Runs a program, or reports that it is not there. */
export function runProgram(command: string, args: readonly string[]) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  return {
    status: result.error ? null : result.status,
    stdout: result.stdout ?? '',
    stderr: result.error ? result.error.message : (result.stderr ?? ''),
  };
}

/**
 * Everything a first `cdk deploy` needs that this machine and the account can tell before it
 * starts: credentials, region, the CDK bootstrap stack, a Docker that builds linux/amd64, enough
 * G-and-VT vCPU quota for `maxInstances`, the instance types offered in the region and in the
 * VPC's Availability Zones, the GPU AMI's parameter, and each bucket of `-c sourceBuckets`. Checks that need credentials are skipped
 * without them.
 */
export async function runDeployChecks(
  parameters: PipelineParameters,
  dependencies: DeployCheckDependencies,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const region = dependencies.region;
  results.push(
    region
      ? { name: 'region', status: 'ok', detail: region }
      : { name: 'region', status: 'fail', detail: `no region: ${SET_A_REGION}` },
  );

  const identity = await checkCredentials(dependencies);
  results.push(identity.result);
  results.push(checkDocker(dependencies));
  if (!identity.account || !region) {
    const needs = [identity.account ? '' : 'credentials', region ? '' : 'a region'].filter(Boolean).join(' and ');
    for (const name of [
      'CDK bootstrap',
      'instance types',
      'zones',
      'vCPU quota',
      'GPU AMI',
      ...parameters.sourceBuckets.map((bucket) => `source bucket ${bucket}`),
    ])
      results.push({ name, status: 'warn', detail: `skipped: needs ${needs}` });
    return results;
  }
  results.push(await checkBootstrap(dependencies, identity.account, region));
  const types = parameters.spot ? parameters.spotInstanceTypes : [parameters.instanceType];
  const offered = await checkOfferings(dependencies, types, region);
  results.push(offered.result);
  results.push(await checkZones(dependencies, types, parameters.availabilityZones));
  results.push(await checkQuota(dependencies, parameters, offered.vcpus));
  results.push(await checkAmi(dependencies, region));
  results.push(...(await checkSourceBuckets(dependencies.s3, parameters, region)));
  return results;
}

async function checkCredentials(
  dependencies: DeployCheckDependencies,
): Promise<{ result: CheckResult; account?: string }> {
  try {
    const identity = await dependencies.sts.send(new GetCallerIdentityCommand({}));
    const where = dependencies.region ? '' : ` (asked STS in ${CREDENTIALS_CHECK_REGION}, as no region is set)`;
    return {
      account: identity.Account,
      result: { name: 'credentials', status: 'ok', detail: `account ${identity.Account} as ${identity.Arn}${where}` },
    };
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    const profile = process.env.AWS_PROFILE;
    let detail: string;
    if (
      name === 'CredentialsProviderError' ||
      (/Could not load credentials|credentials/i.test((error as Error).message) &&
        !/expired|invalid/i.test((error as Error).message))
    ) {
      detail =
        'no AWS credentials found: set AWS_PROFILE to a profile in ~/.aws/config (e.g. after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
    } else if (
      name === 'ExpiredToken' ||
      name === 'ExpiredTokenException' ||
      /expired/i.test((error as Error).message)
    ) {
      detail = `the credentials have expired: ${profile ? `aws sso login --profile ${profile}` : 'refresh them (aws sso login, or new keys)'}`;
    } else if (name === 'InvalidClientTokenId' || name === 'SignatureDoesNotMatch') {
      detail = `the credentials are not valid (${name}): check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY${profile ? ` or profile ${profile}` : ''}`;
    } else {
      detail = `STS GetCallerIdentity failed: ${describe(error)}`;
    }
    return { result: { name: 'credentials', status: 'fail', detail } };
  }
}

function checkDocker(dependencies: DeployCheckDependencies): CheckResult {
  const info = dependencies.run('docker', ['info', '--format', '{{.ServerVersion}} {{.OSType}}/{{.Architecture}}']);
  if (info.status !== 0) {
    const missing = info.status === null;
    return {
      name: 'Docker',
      status: 'fail',
      detail: missing
        ? 'docker is not installed: cdk deploy builds the worker image with it (install Docker Desktop or Docker Engine)'
        : `no Docker daemon answers (${info.stderr.trim().split('\n')[0] ?? ''}): start Docker, cdk deploy builds the worker image with it`,
    };
  }
  const [version = '', platform = ''] = info.stdout.trim().split(' ');
  if (/x86_64|amd64/.test(platform))
    return { name: 'Docker', status: 'ok', detail: `Docker ${version} on ${platform} builds linux/amd64 natively` };
  const builders = dependencies.run('docker', ['buildx', 'ls']);
  if (builders.status === 0 && builders.stdout.includes('linux/amd64'))
    return {
      name: 'Docker',
      status: 'ok',
      detail: `Docker ${version} on ${platform} builds linux/amd64 through buildx (emulated, slower)`,
    };
  return {
    name: 'Docker',
    status: 'fail',
    detail: `Docker on ${platform} cannot build linux/amd64 images: enable emulation (docker run --privileged --rm tonistiigi/binfmt --install amd64) or use Docker Desktop's Rosetta/QEMU support`,
  };
}

async function checkBootstrap(
  dependencies: DeployCheckDependencies,
  account: string,
  region: string,
): Promise<CheckResult> {
  try {
    const { Stacks = [] } = await dependencies.cloudFormation.send(
      new DescribeStacksCommand({ StackName: BOOTSTRAP_STACK }),
    );
    const stack = Stacks[0];
    if (
      stack &&
      /_COMPLETE$/.test(stack.StackStatus ?? '') &&
      !/DELETE|ROLLBACK_COMPLETE$/.test(stack.StackStatus ?? '')
    ) {
      const version = stack.Outputs?.find((output) => output.OutputKey === 'BootstrapVersion')?.OutputValue;
      return {
        name: 'CDK bootstrap',
        status: 'ok',
        detail: `${BOOTSTRAP_STACK} is ${stack.StackStatus}${version ? ` (bootstrap version ${version})` : ''}`,
      };
    }
    return {
      name: 'CDK bootstrap',
      status: 'fail',
      detail: `${BOOTSTRAP_STACK} is ${stack?.StackStatus ?? 'missing'}: run \`npx cdk bootstrap aws://${account}/${region}\``,
    };
  } catch (error) {
    if (/does not exist/.test((error as Error).message))
      return {
        name: 'CDK bootstrap',
        status: 'fail',
        detail: `this account and region are not bootstrapped: run \`npx cdk bootstrap aws://${account}/${region}\``,
      };
    return { name: 'CDK bootstrap', status: 'warn', detail: `cannot tell (${describe(error)})` };
  }
}

async function checkOfferings(
  dependencies: DeployCheckDependencies,
  types: readonly string[],
  region: string,
): Promise<{ result: CheckResult; vcpus?: number }> {
  try {
    const { InstanceTypeOfferings = [] } = await dependencies.ec2.send(
      new DescribeInstanceTypeOfferingsCommand({
        LocationType: 'region',
        Filters: [{ Name: 'instance-type', Values: [...types] }],
      }),
    );
    const offered = new Set(InstanceTypeOfferings.map((offering) => offering.InstanceType));
    const missing = types.filter((type) => !offered.has(type as never));
    if (missing.length === types.length)
      return {
        result: {
          name: 'instance types',
          status: 'fail',
          detail: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not offered in ${region}: pick another -c instanceType (or spotInstanceTypes) or region`,
        },
      };
    const { InstanceTypes = [] } = await dependencies.ec2.send(
      new DescribeInstanceTypesCommand({ InstanceTypes: types.filter((type) => offered.has(type as never)) as never }),
    );
    const vcpus = Math.max(...InstanceTypes.map((type) => type.VCpuInfo?.DefaultVCpus ?? 0));
    const detail = `${types.filter((type) => offered.has(type as never)).join(', ')} offered in ${region} (${vcpus} vCPUs each at most)${missing.length ? `; not offered: ${missing.join(', ')}` : ''}`;
    return { vcpus, result: { name: 'instance types', status: missing.length ? 'warn' : 'ok', detail } };
  } catch (error) {
    return { result: { name: 'instance types', status: 'warn', detail: `cannot tell (${describe(error)})` } };
  }
}

/**
 * The instance types in the Availability Zones the stack's VPC will use — `-c availabilityZones`,
 * else the region's first two as Fn::GetAZs lists them (alphabetically, the default zones): an
 * Auto Scaling group whose zones do not offer its type never launches there. Says which zones do.
 */
async function checkZones(
  dependencies: DeployCheckDependencies,
  types: readonly string[],
  chosen: readonly string[] | undefined,
): Promise<CheckResult> {
  try {
    const { AvailabilityZones = [] } = await dependencies.ec2.send(
      new DescribeAvailabilityZonesCommand({
        Filters: [
          { Name: 'zone-type', Values: ['availability-zone'] },
          { Name: 'state', Values: ['available'] },
        ],
      }),
    );
    const regionZones = AvailabilityZones.map((zone) => zone.ZoneName ?? '')
      .filter(Boolean)
      .sort();
    const zones = chosen ?? regionZones.slice(0, VPC_AVAILABILITY_ZONES);
    const offeredIn = new Set<string>();
    let nextToken: string | undefined;
    do {
      const page = await dependencies.ec2.send(
        new DescribeInstanceTypeOfferingsCommand({
          LocationType: 'availability-zone',
          Filters: [{ Name: 'instance-type', Values: [...types] }],
          ...(nextToken ? { NextToken: nextToken } : {}),
        }),
      );
      for (const offering of page.InstanceTypeOfferings ?? []) if (offering.Location) offeredIn.add(offering.Location);
      nextToken = page.NextToken;
    } while (nextToken);
    const which = chosen
      ? 'the zones of -c availabilityZones'
      : `the VPC's zones (the region's first ${VPC_AVAILABILITY_ZONES})`;
    const lacking = zones.filter((zone) => !offeredIn.has(zone));
    if (lacking.length === 0)
      return { name: 'zones', status: 'ok', detail: `${types.join(', ')} offered in ${zones.join(', ')}, ${which}` };
    const offering = regionZones.filter((zone) => offeredIn.has(zone));
    const fix =
      offering.length >= VPC_AVAILABILITY_ZONES
        ? `deploy with -c availabilityZones=${offering.slice(0, VPC_AVAILABILITY_ZONES).join(',')}`
        : `only ${offering.join(', ') || 'no zone'} of this region offers it: pick another region or instance type`;
    const status = lacking.length === zones.length ? 'fail' : 'warn';
    return {
      name: 'zones',
      status,
      detail: `${types.join(', ')} ${types.length === 1 ? 'is' : 'are'} not offered in ${lacking.join(', ')}, of ${which}: ${status === 'fail' ? 'no GPU instance could launch' : 'instances launch only in the others'}; ${fix}`,
    };
  } catch (error) {
    return { name: 'zones', status: 'warn', detail: `cannot tell (${describe(error)})` };
  }
}

async function checkQuota(
  dependencies: DeployCheckDependencies,
  parameters: PipelineParameters,
  vcpusPerInstance: number | undefined,
): Promise<CheckResult> {
  const quota = parameters.spot ? GPU_VCPU_QUOTA.spot : GPU_VCPU_QUOTA.onDemand;
  if (!vcpusPerInstance)
    return {
      name: 'vCPU quota',
      status: 'warn',
      detail: `cannot tell how many vCPUs ${parameters.maxInstances} instances need`,
    };
  const needed = parameters.maxInstances * vcpusPerInstance;
  let value: number | undefined;
  try {
    value = (
      await dependencies.serviceQuotas.send(new GetServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quota.code }))
    ).Quota?.Value;
  } catch {
    try {
      value = (
        await dependencies.serviceQuotas.send(
          new GetAWSDefaultServiceQuotaCommand({ ServiceCode: 'ec2', QuotaCode: quota.code }),
        )
      ).Quota?.Value;
    } catch (error) {
      return {
        name: 'vCPU quota',
        status: 'warn',
        detail: `cannot read "${quota.name}" (${quota.code}): ${describe(error)}; ${needed} vCPUs are needed`,
      };
    }
  }
  if (value === undefined)
    return { name: 'vCPU quota', status: 'warn', detail: `"${quota.name}" has no value; ${needed} vCPUs are needed` };
  if (value >= needed)
    return {
      name: 'vCPU quota',
      status: 'ok',
      detail: `"${quota.name}" is ${value} vCPUs; maxInstances ${parameters.maxInstances} × ${vcpusPerInstance} vCPUs needs ${needed}`,
    };
  return {
    name: 'vCPU quota',
    status: 'fail',
    detail: `"${quota.name}" is ${value} vCPUs, but maxInstances ${parameters.maxInstances} × ${vcpusPerInstance} vCPUs needs ${needed}: lower -c maxInstances, or ask for more with \`aws service-quotas request-service-quota-increase --service-code ec2 --quota-code ${quota.code} --desired-value ${needed}\``,
  };
}

async function checkAmi(dependencies: DeployCheckDependencies, region: string): Promise<CheckResult> {
  try {
    const value = (await dependencies.ssm.send(new GetParameterCommand({ Name: GPU_AMI_PARAMETER }))).Parameter?.Value;
    return value
      ? { name: 'GPU AMI', status: 'ok', detail: `${GPU_AMI_PARAMETER} → ${value}` }
      : { name: 'GPU AMI', status: 'fail', detail: `${GPU_AMI_PARAMETER} has no value in ${region}` };
  } catch (error) {
    if ((error as { name?: string }).name === 'ParameterNotFound')
      return {
        name: 'GPU AMI',
        status: 'fail',
        detail: `the Amazon Linux 2023 ECS GPU AMI is not published in ${region} (${GPU_AMI_PARAMETER}): pick another region`,
      };
    return { name: 'GPU AMI', status: 'warn', detail: `cannot tell (${describe(error)})` };
  }
}

/** An SDK error in one line: its name and the first line of its message. */
function describe(error: unknown): string {
  // An answer the SDK could not parse (an HTML error page from a proxy or a stand-in endpoint) is
  // reported by its HTTP status, not by the parser's message about '<'.
  const status =
    (error as { $response?: { statusCode?: number } }).$response?.statusCode ??
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (error instanceof SyntaxError || (error as { name?: string }).name === 'SyntaxError')
    return `the endpoint answered${status ? ` HTTP ${status}` : ''} with something that is not an AWS response`;
  return `${(error as { name?: string }).name ?? 'Error'}: ${String((error as Error).message ?? error).split('\n')[0]}`;
}
