import { once } from 'node:events';
import type { Logger } from '../../common/logger.js';
import type { LocalAws } from '../../local/local-aws.js';
import { workerEnvironmentFor } from '../../pipeline/worker-settings.js';
import { EXIT } from '../support/cli-error.js';
import { writeLocalState, type LocalServeState } from './local-state.js';

/**
 * `local --serve`: writes the state file that `--local` commands read, prints how to reach the
 * pipeline (the commands, and the environment for any AWS client or a standalone worker), and
 * waits for Ctrl-C or SIGTERM.
 */
export async function servePipeline(
  aws: LocalAws,
  state: LocalServeState,
  options: { withWorker: boolean; logger: Logger; galleryUrl: string },
): Promise<number> {
  const stateFile = await writeLocalState(state);
  const environment = {
    ...aws.environment(),
    ...workerEnvironmentFor({ uploadsPrefix: state.layout.uploadsPrefix, resultsPrefix: state.layout.resultsPrefix }),
  };
  const exports = Object.entries(environment).map(([name, value]) => `  export ${name}=${value}`);
  const lines = options.withWorker
    ? [
        `Local pipeline running at ${aws.endpoint} (embedded S3, SQS and DynamoDB on loopback, worker in this process). Ctrl-C stops it.`,
      ]
    : [
        `Embedded S3, SQS and DynamoDB running at ${aws.endpoint} on loopback, with no worker (--no-worker). Ctrl-C stops it.`,
        'Run the worker as the container runs it, in another terminal with the exports below:',
        '  node dist/functions/worker/main.js',
      ];
  process.stdout.write(
    [
      ...lines,
      `  bucket: ${aws.bucket}   queue: ${aws.queueUrl}`,
      `Gallery: ${options.galleryUrl}`,
      '',
      'In another terminal, from this folder:',
      '  npx alexnet-pipeline upload --local <files or folders> [--prefix cats/]',
      '  npx alexnet-pipeline submit --local uploads/<folder>/ --wait',
      '  npx alexnet-pipeline results --local <key or prefix> --wait',
      '  npx alexnet-pipeline status --local',
      '  npx alexnet-pipeline query --local "SELECT top_label, count(*) FROM results GROUP BY 1"',
      '  npx alexnet-pipeline redrive --local',
      '',
      'Or from anywhere, with the standard AWS variables (commands then need no --local):',
      ...exports,
      '',
    ].join('\n'),
  );
  options.logger.debug({ stateFile }, 'local state written');
  const signal = await Promise.race([
    once(process, 'SIGINT').then(() => 'SIGINT'),
    once(process, 'SIGTERM').then(() => 'SIGTERM'),
  ]);
  options.logger.info({ signal }, 'stopping the local pipeline');
  return EXIT.ok;
}
