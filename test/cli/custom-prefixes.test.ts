import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../common/logger.js';
import { startInProcessWorker, type InProcessWorker } from '../../local/in-process-worker.js';
import { ImageClassifier } from '../../model/index.js';
import { DEFAULT_STACK_NAME, STACK_OUTPUT } from '../../pipeline/stack-outputs.js';
import { LocalPipeline } from '../helpers/local-pipeline.js';
import { runCli } from '../helpers/run-cli.js';
import { fixtureImagesDirectory } from '../helpers/fixtures.js';
import { temporaryFolder } from '../helpers/temporary-folder.js';

describe('a stack deployed with other key prefixes, found through its outputs file', () => {
  let pipeline: LocalPipeline;
  let classifier: ImageClassifier;
  let worker: InProcessWorker;
  let outputsFile: string;
  let cliEnvironment: Record<string, string>;

  before(async () => {
    // Stands in for `cdk deploy -c uploadsPrefix=in/ -c resultsPrefix=labels/ --outputs-file …`.
    pipeline = await LocalPipeline.start({ uploadsPrefix: 'in/' });
    classifier = await ImageClassifier.load({ device: 'cpu', maxBatchSize: 8 });
    worker = startInProcessWorker({
      aws: pipeline.aws,
      classifier,
      logger: silentLogger,
      settings: { uploadsPrefix: 'in/', resultsPrefix: 'labels/', receiveWaitSeconds: 1 },
    });
    const folder = temporaryFolder('alexnet-outputs-');
    outputsFile = path.join(folder, 'cdk-outputs.json');
    const outputs = {
      [STACK_OUTPUT.bucketName]: pipeline.aws.bucket,
      [STACK_OUTPUT.queueUrl]: pipeline.aws.queueUrl,
      [STACK_OUTPUT.deadLetterQueueUrl]: pipeline.aws.dlqUrl,
      [STACK_OUTPUT.uploadsPrefix]: 'in/',
      [STACK_OUTPUT.resultsPrefix]: 'labels/',
      [STACK_OUTPUT.logGroupName]: 'AlexnetPipeline-WorkerLogs',
      [STACK_OUTPUT.dashboardUrl]: 'https://console.aws.amazon.com/cloudwatch',
    };
    await writeFile(outputsFile, JSON.stringify({ [DEFAULT_STACK_NAME]: outputs }, null, 2));
    const { AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = pipeline.aws.environment();
    cliEnvironment = {
      AWS_ENDPOINT_URL: AWS_ENDPOINT_URL!,
      AWS_REGION: AWS_REGION!,
      AWS_ACCESS_KEY_ID: AWS_ACCESS_KEY_ID!,
      AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY!,
      BUCKET_NAME: '',
      QUEUE_URL: '',
      DLQ_URL: '',
    };
  });
  after(async () => {
    await worker.stop();
    await classifier.dispose();
    await pipeline.stop();
  });

  it('uploads below the stack’s uploads prefix and reads results below its results prefix', async () => {
    const upload = await runCli(
      ['upload', path.join(fixtureImagesDirectory, 'chelsea.jpg'), '--prefix', 'cats/', '--outputs-file', outputsFile],
      { env: cliEnvironment },
    );
    assert.equal(upload.status, 0, upload.stderr);
    assert.match(upload.stdout, new RegExp(`uploaded s3://${pipeline.aws.bucket}/in/cats/chelsea\\.jpg`));

    const result = await runCli(
      ['results', 'cats/chelsea.jpg', '--wait', '--timeout', '60', '--format', 'json', '--outputs-file', outputsFile],
      { env: cliEnvironment },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).source.key, 'in/cats/chelsea.jpg');
    assert.ok(await pipeline.exists('labels/cats/chelsea.jpg.json'));
    assert.deepEqual(
      await pipeline.listKeys('uploads/'),
      [],
      'nothing went to the default prefix, which nothing watches',
    );

    const status = await runCli(['status', '--format', 'json', '--outputs-file', outputsFile], { env: cliEnvironment });
    assert.equal(status.status, 0, status.stderr);
    assert.deepEqual([JSON.parse(status.stdout).uploads, JSON.parse(status.stdout).results], [1, 1]);
  });

  it('stops with a message when the outputs name a malformed prefix', async () => {
    const broken = path.join(path.dirname(outputsFile), 'broken-outputs.json');
    await writeFile(
      broken,
      JSON.stringify({ [DEFAULT_STACK_NAME]: { [STACK_OUTPUT.bucketName]: 'b', [STACK_OUTPUT.uploadsPrefix]: 'in' } }),
    );
    const run = await runCli(['results', 'x.jpg', '--outputs-file', broken], { env: cliEnvironment });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: the uploads prefix must be a key prefix that ends with "\/"/m);
  });
});
