import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { Command, Option } from 'commander';
import { ConfigurationError } from '../../common/errors.js';
import { projectRoot } from '../../common/paths.js';
import { readPipelineParameters, type PipelineParameters } from '../../pipeline/deploy-parameters.js';
import { CliError, EXIT } from '../cli-error.js';
import { CREDENTIALS_CHECK_REGION, runDeployChecks, runProgram, type CheckResult } from '../deploy-checks.js';

interface DoctorOptions {
  context: string[];
  region?: string;
  profile?: string;
}

/** `doctor`: before a first deploy, one line per thing that would stop it, with the fix. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description('check what a first `cdk deploy` needs: credentials, region, CDK bootstrap, Docker for linux/amd64, GPU vCPU quota, instance types, the GPU AMI')
    .addOption(new Option('-c, --context <key=value>', 'the same context as cdk deploy -c (instanceType, maxInstances, spot, spotInstanceTypes, …); repeatable').argParser(collect).default([]))
    .addOption(new Option('--region <region>', 'AWS region (default: AWS_REGION or your profile’s)'))
    .addOption(new Option('--profile <name>', 'AWS profile from ~/.aws/config (default: AWS_PROFILE)'))
    .action(async (options: DoctorOptions) => {
      const parameters = deployParameters(options.context);
      const clientOptions = { region: options.region, ...(options.profile ? { profile: options.profile } : {}) };
      const region = await new STSClient(clientOptions).config.region().catch(() => undefined);
      const results = await runDeployChecks(parameters, {
        // Without a region the credentials are still worth checking: STS answers them in any region.
        sts: new STSClient({ ...clientOptions, region: region ?? CREDENTIALS_CHECK_REGION }),
        cloudFormation: new CloudFormationClient(clientOptions),
        ec2: new EC2Client(clientOptions),
        serviceQuotas: new ServiceQuotasClient(clientOptions),
        ssm: new SSMClient(clientOptions),
        region,
        run: runProgram,
      });
      process.stdout.write(`${formatChecks(results)}\n`);
      const failed = results.filter((result) => result.status === 'fail').length;
      process.stdout.write(failed === 0 ? 'nothing blocks a deploy: npx cdk deploy --outputs-file cdk-outputs.json\n' : `${failed} ${failed === 1 ? 'problem blocks' : 'problems block'} a deploy: fix ${failed === 1 ? 'it' : 'them'} and run doctor again\n`);
      process.exitCode = failed === 0 ? EXIT.ok : EXIT.error;
    });
}

/** The stack's parameters from cdk.json's context and `-c key=value`, validated as `cdk synth` validates them. */
function deployParameters(pairs: readonly string[]): PipelineParameters {
  const context: Record<string, unknown> = {};
  try {
    Object.assign(context, JSON.parse(readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8')).context ?? {});
  } catch {
    // No cdk.json (a copy of the CLI alone): the -c values and the defaults.
  }
  for (const pair of pairs) {
    const separator = pair.indexOf('=');
    if (separator < 1) throw new CliError(`-c ${pair}: expected key=value, e.g. -c maxInstances=4`);
    context[pair.slice(0, separator)] = pair.slice(separator + 1);
  }
  try {
    return readPipelineParameters((key) => context[key], Object.keys(context));
  } catch (error) {
    if (error instanceof ConfigurationError) throw new CliError(error.message, { cause: error });
    throw error;
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** One aligned line per check. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((result) => result.name.length));
  return results.map((result) => `${result.status.padEnd(4)}  ${result.name.padEnd(width)}  ${result.detail}`).join('\n');
}
