import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { Command, Option } from 'commander';
import { EXIT } from '../support/cli-error.js';
import { CREDENTIALS_CHECK_REGION, runDeployChecks, runProgram } from '../deploy-checks/deploy-checks.js';
import { formatChecks } from '../deploy-checks/format-checks.js';
import { deployParameters } from '../deploy-checks/deploy-parameters-option.js';

interface DoctorOptions {
  context: string[];
  region?: string;
  profile?: string;
}

/** `doctor`: before a first deploy, one line per thing that would stop it, with the fix. */
export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'check what a first `cdk deploy` needs: credentials, region, CDK bootstrap, Docker for linux/amd64, GPU vCPU quota, instance types, the GPU AMI',
    )
    .addOption(
      new Option(
        '-c, --context <key=value>',
        'the same context as cdk deploy -c (instanceType, maxInstances, spot, spotInstanceTypes, …); repeatable',
      )
        .argParser(collect)
        .default([]),
    )
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
        s3: new S3Client({ ...clientOptions, followRegionRedirects: true }),
        region,
        run: runProgram,
      });
      process.stdout.write(`${formatChecks(results)}\n`);
      const failed = results.filter((result) => result.status === 'fail').length;
      process.stdout.write(
        failed === 0
          ? 'nothing blocks a deploy: npx cdk deploy --outputs-file cdk-outputs.json\n'
          : `${failed} ${failed === 1 ? 'problem blocks' : 'problems block'} a deploy: fix ${failed === 1 ? 'it' : 'them'} and run doctor again\n`,
      );
      process.exitCode = failed === 0 ? EXIT.ok : EXIT.error;
    });
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
