import Table from 'cli-table3';
import { Command, Option } from 'commander';
import { hasImageExtension } from '../../model/image-formats.js';
import { explainAwsError } from '../target/aws-errors.js';
import { listKeys } from '../../pipeline/s3-operations.js';
import { queueDepth } from '../../pipeline/sqs-operations.js';
import { addTargetOptions, resolveTarget, type TargetOptions } from '../target/target.js';

interface StatusOptions extends TargetOptions {
  format: 'table' | 'json';
}

/** `status`: queue depth, DLQ depth, uploads vs results. */
export function statusCommand(): Command {
  const command = new Command('status')
    .description('queue depth (visible, in flight), dead-letter queue depth, and uploads vs results')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'));
  addTargetOptions(command).action(async (options: StatusOptions) => {
    const target = await resolveTarget(options, ['bucket', 'queue', 'dlq']);
    try {
      const [queue, deadLetters, uploads, results] = await Promise.all([
        queueDepth(target.sqs, target.queueUrl!),
        queueDepth(target.sqs, target.dlqUrl!),
        listKeys(target.s3, target.bucket, target.layout.uploadsPrefix),
        listKeys(target.s3, target.bucket, target.layout.resultsPrefix),
      ]);
      const status = {
        target: target.description,
        queue: queue,
        deadLetterQueue: { messages: deadLetters.visible + deadLetters.inFlight },
        uploads: uploads.filter(hasImageExtension).length,
        results: results.filter((key) => key.endsWith('.json')).length,
      };
      if (options.format === 'json') {
        process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        return;
      }
      const table = new Table({ style: { head: [], border: [], compact: true } });
      table.push(
        { target: status.target },
        { 'queue: visible': String(queue.visible) },
        { 'queue: in flight': String(queue.inFlight) },
        { 'dead-letter queue': String(status.deadLetterQueue.messages) },
        { 'images uploaded': String(status.uploads) },
        { 'results stored': String(status.results) },
      );
      process.stdout.write(`${table.toString()}\n`);
    } catch (error) {
      throw explainAwsError(error, {
        bucket: target.bucket,
        queueUrl: target.queueUrl,
        endpoint: target.endpoint,
        profile: target.profile,
      });
    }
  });
  return command;
}
