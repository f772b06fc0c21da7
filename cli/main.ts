#!/usr/bin/env node
import { Command } from 'commander';
import { PipelineError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { configureImageDecoding } from '../model/index.js';
import { CliError } from './cli-error.js';
import { classifyCommand } from './commands/classify.js';
import { doctorCommand } from './commands/doctor.js';
import { localCommand } from './commands/local.js';
import { modelCommand } from './commands/model.js';
import { redriveCommand } from './commands/redrive.js';
import { smokeCommand } from './commands/smoke.js';
import { resultsCommand } from './commands/results.js';
import { statusCommand } from './commands/status.js';
import { uploadCommand } from './commands/upload.js';

// The project supports Node.js 20 (the container runs 22); the AWS SDK's notice about its own
// future Node.js 22 requirement is said once in the README instead of on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const logger = createLogger('alexnet-pipeline', { pretty: process.stderr.isTTY === true });
configureImageDecoding();

const program = new Command('alexnet-pipeline')
  .description('Batch image classification with AlexNet: locally, or on AWS through S3, SQS and GPU containers.')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(localCommand(logger))
  .addCommand(classifyCommand(logger))
  .addCommand(modelCommand(logger))
  .addCommand(uploadCommand(logger))
  .addCommand(resultsCommand(logger))
  .addCommand(statusCommand())
  .addCommand(redriveCommand())
  .addCommand(doctorCommand())
  .addCommand(smokeCommand());

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else if (error instanceof PipelineError) {
    logger.error({ code: error.code, ...error.context }, error.message);
    process.exitCode = 1;
  } else {
    logger.error({ err: error }, 'unexpected failure');
    process.exitCode = 1;
  }
}
