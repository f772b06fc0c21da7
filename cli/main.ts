#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { PipelineError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { projectRoot } from '../common/paths.js';
import { configureImageDecoding } from '../model/index.js';
import { CliError, EXIT } from './cli-error.js';
import { classifyCommand } from './commands/classify.js';
import { doctorCommand } from './commands/doctor.js';
import { localCommand } from './commands/local.js';
import { modelCommand } from './commands/model.js';
import { redriveCommand } from './commands/redrive.js';
import { resultsCommand } from './commands/results.js';
import { smokeCommand } from './commands/smoke.js';
import { statusCommand } from './commands/status.js';
import { uploadCommand } from './commands/upload.js';
import { visibleText } from './terminal-text.js';

// The AWS SDK's notice that its releases after January 2027 need Node.js 22 is said once in the
// README (supported versions) instead of on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// A reader that stops early (`classify … | head -2`) closes stdout: the run ends quietly, as
// `yes | head` does, instead of failing with EPIPE.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT.ok);
  throw error;
});

const logger = createLogger('alexnet-pipeline', { pretty: process.stderr.isTTY === true });
configureImageDecoding();
const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };

const program = new Command('alexnet-pipeline')
  .description('Batch image classification with AlexNet: locally, or on AWS through S3, SQS and GPU containers.')
  .version(version, '-V, --version', 'print the version')
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

// Every failure is one line on stderr with what to do; the details (a stack) only at LOG_LEVEL=debug.
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message = error instanceof PipelineError ? error.message : `unexpected failure: ${(error as Error)?.message ?? String(error)} (LOG_LEVEL=debug shows the details)`;
  process.stderr.write(`error: ${visibleText(message)}\n`);
  logger.debug({ err: error }, 'failure details');
  process.exitCode = error instanceof CliError ? error.exitCode : EXIT.error;
}
