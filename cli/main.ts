#!/usr/bin/env node
import { Command } from 'commander';
import { PipelineError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { classifyCommand } from './commands/classify.js';

const logger = createLogger('alexnet-pipeline', { pretty: process.stderr.isTTY === true });

const program = new Command('alexnet-pipeline')
  .description('Batch image classification with AlexNet: locally, or on AWS through S3, SQS and GPU containers.')
  .showHelpAfterError('(run with --help for usage)')
  .addCommand(classifyCommand(logger));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof PipelineError) {
    logger.error({ code: error.code, ...error.context }, error.message);
  } else {
    logger.error({ err: error }, 'unexpected failure');
  }
  process.exitCode = 1;
}
