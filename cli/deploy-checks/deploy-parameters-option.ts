import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../../common/errors.js';
import { projectRoot } from '../../common/paths.js';
import { readPipelineParameters, type PipelineParameters } from '../../pipeline/deploy-parameters.js';
import { CliError } from '../support/cli-error.js';

/** The stack's parameters from cdk.json's context and `-c key=value`, validated as `cdk synth` validates them. */
export function deployParameters(pairs: readonly string[]): PipelineParameters {
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
