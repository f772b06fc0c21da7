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
  'model/quantize/quantize-alexnet.test.js',
  'cli/model-quantize.test.js',
  'cli/classify.test.js',
  'cli/jobs/submit.test.js',
  'cli/query.test.js',
  'infra/cdk-synth.test.js',
  'cli/edges.test.js',
  'model/checkpoint/convert-alexnet-checkpoint.test.js',
  'cli/local.test.js',
  'cli/model.test.js',
  'model/quantize/torch-export.test.js',
  'infra/pipeline-stack.test.js',
] as const;

/**
 * The tests of what the container runs — the worker (`functions/`), the model, the pipeline's
 * shared code, the AWS clients, and the worker run as a process against faults and as the
 * container starts it — which CI runs under the container's Node.js (`ALEXNET_TEST_SET=container
 * npm test`, see `.ci/run`), and the rest under the Node.js on PATH. Folders end in `/`; the rest are files.
 */
export const CONTAINER_TESTS = [
  'common/',
  'functions/',
  'model/',
  'pipeline/',
  'faults/',
  'cli/standalone-worker.test.js',
] as const;

/** Whether `file` (relative to the test folder) is one of {@link CONTAINER_TESTS}. */
export function isContainerTest(file: string): boolean {
  return CONTAINER_TESTS.some((entry) => (entry.endsWith('/') ? file.startsWith(entry) : file === entry));
}

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

/**
 * The files of a run: all of them; with `ALEXNET_TEST_SET=container` only {@link CONTAINER_TESTS};
 * with `outside-container`, the others: CI runs each set once, under a Node.js of its own (`.ci/run`).
 */
export function testFilesOfSet(folder: string, set = process.env.ALEXNET_TEST_SET ?? 'all'): string[] {
  if (set === 'all') return testFilesInRunOrder(folder);
  if (set === 'container') return testFilesInRunOrder(folder).filter(isContainerTest);
  if (set === 'outside-container') return testFilesInRunOrder(folder).filter((file) => !isContainerTest(file));
  throw new Error(`ALEXNET_TEST_SET is ${set}: it is all (the default), container or outside-container`);
}

// `node dist/test/helpers/test-files.js`: the list, one path per line, for npm test's command line.
// An unknown set: one line on stderr, and on stdout a file that does not exist, which fails the run
// (given no file at all, node --test would run every test it finds, unordered).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const testFolder = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const relative = path.relative(process.cwd(), testFolder);
  try {
    process.stdout.write(
      testFilesOfSet(testFolder)
        .map((file) => path.join(relative, file))
        .join('\n') + '\n',
    );
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.stdout.write('no-such-test-set\n');
    process.exitCode = 1;
  }
}
