#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import nodeModule from 'node:module';
import path from 'node:path';
import { Command } from 'commander';
import { PipelineError } from '../common/errors.js';
import { createLogger } from '../common/logger.js';
import { projectRoot } from '../common/paths.js';
import type { Logger } from '../common/logger.js';
import { CliError, EXIT } from './support/cli-error.js';
import { visibleText } from './support/terminal-text.js';

// Node.js 22 and later keep V8's compiled code of the modules on disk between runs: the commands'
// dependencies (the AWS SDK above all) then load in a fraction of the time. Node.js 20 lacks it.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

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
const { version } = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };

const program = new Command('alexnet-pipeline')
  .description('Batch image classification with AlexNet: locally, or on AWS through S3, SQS and GPU containers.')
  .version(version, '-V, --version', 'print the version')
  .showHelpAfterError('(run with --help for usage)');

/**
 * The commands, each loaded only when it runs: their dependencies (sharp, ONNX Runtime, DuckDB,
 * the emulator, a dozen AWS clients) would otherwise cost every command about a second of start-up.
 * `--help` and an unknown name load them all, for the full listing.
 */
const COMMANDS: Record<string, (logger: Logger) => Promise<Command>> = {
  local: async (l) => (await import('./commands/local.js')).localCommand(l),
  classify: async (l) => (await import('./commands/classify.js')).classifyCommand(l),
  model: async (l) => (await import('./commands/model.js')).modelCommand(l),
  upload: async (l) => (await import('./commands/upload.js')).uploadCommand(l),
  submit: async (l) => (await import('./commands/submit.js')).submitCommand(l),
  jobs: async () => (await import('./commands/jobs.js')).jobsCommand(),
  results: async (l) => (await import('./commands/results.js')).resultsCommand(l),
  query: async (l) => (await import('./commands/query.js')).queryCommand(l),
  gallery: async (l) => (await import('./commands/gallery.js')).galleryCommand(l),
  status: async () => (await import('./commands/status.js')).statusCommand(),
  redrive: async () => (await import('./commands/redrive.js')).redriveCommand(),
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand(),
  smoke: async () => (await import('./commands/smoke.js')).smokeCommand(),
  'gpu-check': async (l) => (await import('./commands/gpu-check.js')).gpuCheckCommand(l),
};
const named = process.argv.slice(2).find((argument) => !argument.startsWith('-'));
const onlyVersion = !named && process.argv.slice(2).some((argument) => argument === '-V' || argument === '--version');
const wanted = onlyVersion ? [] : named && named in COMMANDS ? [named] : Object.keys(COMMANDS);
for (const command of await Promise.all(wanted.map((name) => COMMANDS[name]!(logger)))) program.addCommand(command);

// Every failure is one line on stderr with what to do; the details (a stack) only at LOG_LEVEL=debug.
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const message =
    error instanceof PipelineError
      ? error.message
      : `unexpected failure: ${(error as Error)?.message ?? String(error)} (LOG_LEVEL=debug shows the details)`;
  process.stderr.write(`error: ${visibleText(message)}\n`);
  logger.debug({ err: error }, 'failure details');
  process.exitCode = error instanceof CliError ? error.exitCode : EXIT.error;
}
