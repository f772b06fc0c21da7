import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { resultKeyFor } from '../../pipeline/object-keys.js';
import { readResult } from '../results/bucket-reader.js';
import { CliError, EXIT } from '../support/cli-error.js';
import { explainAwsError } from '../target/aws-errors.js';
import type { Target } from '../target/target.js';
import path from 'node:path';
import { projectRoot } from '../../common/paths.js';
import { isDomesticCat } from '../../model/index.js';
import type { ResultDocument } from '../../pipeline/result-document.js';

/** The canary: the sample cat (scikit-image's chelsea, CC0). */
export const CANARY_IMAGE = path.join(projectRoot, 'samples', 'chelsea.jpg');

/** What a smoke run found wrong, or nothing. */
export function smokeProblems(result: ResultDocument, kind: 'local' | 'aws'): string[] {
  const problems: string[] = [];
  if (result.status !== 'ok')
    problems.push(`the canary got an error result: ${result.error.code}: ${result.error.message}`);
  if (kind === 'aws' && result.device !== 'cuda')
    problems.push(
      `the deployed worker ran on ${result.device}, not cuda: its GPU is not used (see the worker log group)`,
    );
  if (result.status === 'ok' && result.model.pretrained && !isDomesticCat(result.labels[0]!.index)) {
    problems.push(
      `the pretrained weights call the sample cat "${result.labels[0]!.label}", not a cat: the model (${result.model.weights}, ${result.model.sha256}) is broken`,
    );
  }
  return problems;
}

/**
 * Uploads the canary below a unique prefix, waits up to `timeoutSeconds` for its result, and removes
 * both objects whatever happened. No result in time is a {@link CliError}.
 */
export async function runCanary(
  target: Target,
  timeoutSeconds: number,
): Promise<{ result: ResultDocument; started: number }> {
  const key = `${target.layout.uploadsPrefix}smoke-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}/chelsea.jpg`;
  const resultKey = resultKeyFor(key, target.layout);
  let result: ResultDocument | undefined;
  const started = Date.now();
  try {
    await target.s3.send(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: key,
        Body: await readFile(CANARY_IMAGE),
        ContentType: 'image/jpeg',
      }),
    );
    process.stdout.write(
      `uploaded the canary s3://${target.bucket}/${key}; waiting for its result (up to ${timeoutSeconds} s)\n`,
    );
    const deadline = started + timeoutSeconds * 1000;
    while (!(result = await readResult(target.s3, target.bucket, resultKey))) {
      if (Date.now() > deadline) break;
      await sleep(1000);
    }
  } catch (error) {
    throw explainAwsError(error, { bucket: target.bucket, endpoint: target.endpoint, profile: target.profile });
  } finally {
    await target.s3
      .send(
        new DeleteObjectsCommand({ Bucket: target.bucket, Delete: { Objects: [{ Key: key }, { Key: resultKey }] } }),
      )
      .catch(() => undefined);
  }
  if (!result) {
    throw new CliError(
      `no result for the canary after ${timeoutSeconds} s: check \`alexnet-pipeline status\` and the worker's log group (a result that comes later stays at ${resultKey})`,
      { exitCode: EXIT.error },
    );
  }
  return { result, started };
}
