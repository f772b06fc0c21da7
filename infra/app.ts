#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigurationError } from '../common/errors.js';
import { DEFAULT_STACK_NAME } from '../pipeline/stack-outputs.js';
import { acknowledgeNagFindings } from './nag-acknowledgements.js';
import { PipelineStack } from './pipeline-stack.js';
import { readPipelineParameters, type PipelineParameters } from '../pipeline/deploy-parameters.js';

/** The CDK app (`npx cdk synth` / `npx cdk deploy` from the project root; see cdk.json). */
const app = new App();
let parameters: PipelineParameters;
try {
  parameters = readPipelineParameters((key) => app.node.tryGetContext(key), Object.keys(app.node.getAllContext()));
} catch (error) {
  // A bad -c value is the user's input: one line naming the key, not a stack trace.
  if (!(error instanceof ConfigurationError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(1);
}
const stack = new PipelineStack(app, DEFAULT_STACK_NAME, {
  parameters,
  description: 'alexnet-pipeline: S3 uploads → SQS → GPU ECS workers (AlexNet, ONNX Runtime) → label JSON in S3',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
acknowledgeNagFindings(stack);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
