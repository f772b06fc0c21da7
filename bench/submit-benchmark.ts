import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { createS3Client, createSqsClient } from '../common/aws-clients.js';
import { createDynamoDbClient } from '../common/dynamodb-client.js';
import { JobStore } from '../pipeline/jobs/job-store.js';
import { queueDepth } from '../pipeline/sqs-operations.js';
import { startLocalServe } from '../local/local-serve-process.js';
import { runCli, type CliRun } from '../test/helpers/run-cli.js';
import { temporaryFolder } from '../test/helpers/temporary-folder.js';

/**
 * `npm run bench:submit`: a flat prefix of N objects (default 100,000; `SUBMIT_BENCH_OBJECTS`) in
 * the embedded S3 — `archive/`, outside the uploads prefix, so that writing them sends no
 * notifications — served by `local --serve --no-worker` in its own process; then `submit` as a user
 * runs it (its own process), timed from start to the line that says every image is enqueued.
 * Prints images per second and requests per 1,000 images (LIST, SendMessageBatch, job-state
 * writes), then `jobs status`, timed, with its request count.
 */
const objects = Number(process.env.SUBMIT_BENCH_OBJECTS ?? 100_000);
const stateFile = `${temporaryFolder('alexnet-bench-submit-')}/local-serve.json`;
const serve = await startLocalServe(['--no-worker', '--port', '0'], { ALEXNET_LOCAL_STATE_FILE: stateFile });
const environment = { ...process.env, ...serve.environment, ALEXNET_LOCAL_STATE_FILE: stateFile };
const clientOptions = {
  endpoint: serve.environment.AWS_ENDPOINT_URL!,
  region: serve.environment.AWS_REGION!,
  credentials: {
    accessKeyId: serve.environment.AWS_ACCESS_KEY_ID!,
    secretAccessKey: serve.environment.AWS_SECRET_ACCESS_KEY!,
  },
};
const s3 = createS3Client(clientOptions);
const sqs = createSqsClient(clientOptions);
/** Outside the uploads prefix: named by its URL (a bare folder is one below the uploads prefix). */
const archive = `s3://${serve.environment.BUCKET_NAME!}/archive/`;
try {
  const started = performance.now();
  const limit = pLimit(64);
  await Promise.all(
    Array.from({ length: objects }, (_, i) =>
      limit(() =>
        s3.send(
          new PutObjectCommand({
            Bucket: serve.environment.BUCKET_NAME!,
            Key: `archive/${String(i).padStart(7, '0')}.jpg`,
            Body: 'x',
          }),
        ),
      ),
    ),
  );
  // The images were "there before the pipeline": their notifications are dropped — once every one
  // has been delivered, so that none is still being sent while submit is measured.
  const queueUrl = serve.environment.QUEUE_URL!;
  for (let depth = -1, stable = 0; stable < 3;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = (await queueDepth(sqs, queueUrl)).visible;
    stable = now === depth ? stable + 1 : 0;
    depth = now;
  }
  await sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
  while ((await queueDepth(sqs, queueUrl)).visible > 0) await new Promise((resolve) => setTimeout(resolve, 500));
  console.log(
    `${objects} objects written in ${((performance.now() - started) / 1000).toFixed(1)} s (setup, not measured)`,
  );

  const listing = await timedCli(['submit', '--local', '--dry-run', archive], environment);
  if (listing.status !== 0 || !listing.stdout.includes(`${objects} images`))
    throw new Error(`submit --dry-run failed: ${listing.stdout}${listing.stderr}`);
  console.log(`listing alone (submit --dry-run): ${listing.seconds.toFixed(2)} s (whole process)`);
  const submit = await timedCli(['submit', '--local', archive], environment);
  const requests = /requests: (\d+) LIST, (\d+) SendMessageBatch, (\d+) job-state writes/.exec(submit.stdout);
  if (submit.status !== 0 || !requests) throw new Error(`submit failed: ${submit.stdout}${submit.stderr}`);
  const [lists, batches, writes] = requests.slice(1).map(Number) as [number, number, number];
  const perThousand = (count: number) => ((count / objects) * 1000).toFixed(2);
  console.log(
    `submit: ${objects} images listed and enqueued in ${submit.seconds.toFixed(2)} s (whole process) → ${(objects / submit.seconds).toFixed(0)} images/s (target: 100,000 in ≤ 30 s)`,
  );
  console.log(
    `requests per 1,000 images: ${perThousand(lists)} LIST, ${perThousand(batches)} SendMessageBatch, ${perThousand(writes)} job-state writes (${lists}, ${batches}, ${writes} in all)`,
  );
  const jobId = /^job (\S+)$/m.exec(submit.stdout)![1]!;
  const status = await timedCli(['jobs', 'status', '--local', jobId, '--format', 'json'], environment);
  if (status.status !== 0 || JSON.parse(status.stdout).total !== objects)
    throw new Error(`jobs status failed: ${status.stderr}`);
  // The request itself, as the command makes it: one strongly consistent GetItem, five times.
  const dynamo = createDynamoDbClient(clientOptions);
  const store = new JobStore(dynamo, serve.environment.JOBS_TABLE!);
  const reads: number[] = [];
  for (let i = 0; i < 5; i++) {
    const readStarted = performance.now();
    await store.get(jobId);
    reads.push(performance.now() - readStarted);
  }
  dynamo.destroy();
  console.log(
    `jobs status of the ${objects}-image job: ${status.seconds.toFixed(2)} s for the whole command (process start included; one GetItem and one GetQueueAttributes whatever the job's size); the GetItem alone ${reads.map((ms) => ms.toFixed(1)).join(', ')} ms (5 reads)`,
  );
} finally {
  s3.destroy();
  sqs.destroy();
  await serve.stop();
}

/** The CLI as a user runs it (its own process), timed from spawn to exit. */
async function timedCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliRun & { seconds: number }> {
  const started = performance.now();
  const run = await runCli(args, { env, timeoutMs: 600_000 });
  return { ...run, seconds: (performance.now() - started) / 1000 };
}
