import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { projectRoot } from '../../common/paths.js';
import { acknowledgeNagFindings } from '../../infra/nag-acknowledgements.js';
import { PipelineStack } from '../../infra/pipeline-stack.js';
import { PARAMETER_DEFAULTS, type PipelineParameters } from '../../pipeline/deploy-parameters.js';

/** The feature flags `cdk deploy` applies (cdk.json), so that the tests see the template a deploy sees. */
const CDK_JSON_CONTEXT = JSON.parse(readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8')).context as Record<
  string,
  unknown
>;

/** The stack as `cdk synth` builds it (cdk.json's flags, cdk-nag acknowledgements), with the defaults overridden. */
export function synthesizeStack(overrides: Partial<PipelineParameters> = {}): {
  stack: PipelineStack;
  template: Template;
} {
  const app = new App({ context: CDK_JSON_CONTEXT });
  const stack = new PipelineStack(app, 'TestPipeline', {
    parameters: { ...PARAMETER_DEFAULTS, ...overrides },
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  acknowledgeNagFindings(stack);
  return { stack, template: Template.fromStack(stack) };
}
