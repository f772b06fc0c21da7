import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The slowest test files (a minute or more each, much of it waiting on timeouts and child
 * processes; figures from a CI run), which `npm test` starts first: three files run at a time, and a
 * long file started last would run on alone while the other slots sit idle.
 */
export const SLOWEST_TEST_FILES = [
  'faults/fault-suite.test.js',
  'functions/worker/queue-consumer.faults.integration.test.js',
  'model/torch-agreement.test.js',
  'cli/first-use-model.test.js',
  'cli/classify.test.js',
  'cli/jobs/submit.test.js',
  'cli/query.test.js',
  'infra/cdk-synth.test.js',
  'cli/edges.test.js',
  'model/checkpoint/convert-alexnet-checkpoint.test.js',
  'cli/local.test.js',
  'cli/model.test.js',
  'infra/pipeline-stack.test.js',
] as const;

/** Every compiled test file below `folder`, relative to it, by name. */
export function testFilesIn(folder: string): string[] {
  return (readdirSync(folder, { recursive: true }) as string[])
    .filter((file) => file.endsWith('.test.js'))
    .map((file) => file.split(path.sep).join('/'))
    .sort();
}

/** The order `npm test` runs the files in: {@link SLOWEST_TEST_FILES} first, then the rest by name. */
export function testFilesInRunOrder(folder: string): string[] {
  const all = testFilesIn(folder);
  const slow = SLOWEST_TEST_FILES.filter((file) => all.includes(file));
  return [...slow, ...all.filter((file) => !slow.includes(file as (typeof slow)[number]))];
}

// `node dist/test/helpers/test-files.js`: the list, one path per line, for npm test's command line.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const testFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const relative = path.relative(process.cwd(), testFolder);
  process.stdout.write(
    testFilesInRunOrder(testFolder)
      .map((file) => path.join(relative, file))
      .join('\n') + '\n',
  );
}
