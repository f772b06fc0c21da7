import { CliError } from '../support/cli-error.js';
import { isLoopback } from '../support/loopback.js';

/**
 * Turns an AWS SDK failure into a one-line message that says what to do: an unreachable endpoint,
 * a missing bucket or queue, missing credentials, refused access.
 */
export function explainAwsError(
  error: unknown,
  target: { bucket?: string; queueUrl?: string; endpoint?: string; profile?: string },
): CliError {
  const failure = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string };
  };
  const network = failure.code ?? failure.cause?.code;
  const where = target.endpoint ?? 'AWS';
  if (failure.message === 'Region is missing' || /^Region not accepted: region=""/.test(failure.message ?? '')) {
    return new CliError(
      'no AWS region: set AWS_REGION, pass --region, or set region in your AWS profile (~/.aws/config)',
      { cause: error, code: 'NO_REGION' },
    );
  }
  if (
    network === 'ECONNREFUSED' ||
    network === 'ENOTFOUND' ||
    network === 'EHOSTUNREACH' ||
    failure.name === 'TimeoutError'
  ) {
    // Only a pipeline on this machine is started with `local --serve`.
    const fix =
      target.endpoint && isLoopback(target.endpoint)
        ? 'start it with `alexnet-pipeline local --serve`, or check --endpoint-url / AWS_ENDPOINT_URL'
        : 'check your network, the region, and --endpoint-url / AWS_ENDPOINT_URL if you set one';
    return new CliError(`cannot reach ${where} (${network ?? failure.name}): ${fix}`, {
      cause: error,
      code: 'UNREACHABLE',
    });
  }
  if (failure.name === 'NoSuchBucket') {
    return new CliError(
      `bucket ${target.bucket} does not exist at ${where}: check --bucket, BUCKET_NAME or cdk-outputs.json`,
      { cause: error, code: 'NO_SUCH_BUCKET' },
    );
  }
  if (failure.name === 'QueueDoesNotExist' || failure.name === 'AWS.SimpleQueueService.NonExistentQueue') {
    return new CliError(
      `queue ${target.queueUrl} does not exist at ${where}: check --queue-url, QUEUE_URL or cdk-outputs.json`,
      { cause: error, code: 'NO_SUCH_QUEUE' },
    );
  }
  if (failure.name === 'CredentialsProviderError') {
    if (target.profile) {
      return new CliError(
        `no AWS credentials for profile ${target.profile}: check it in ~/.aws/config and ~/.aws/credentials (\`aws configure --profile ${target.profile}\`), or pass another --profile`,
        { cause: error, code: 'NO_CREDENTIALS' },
      );
    }
    return new CliError('no AWS credentials found: configure them (aws configure, AWS_PROFILE, …) or use --local', {
      cause: error,
      code: 'NO_CREDENTIALS',
    });
  }
  if (
    failure.name === 'AccessDenied' ||
    failure.name === 'InvalidAccessKeyId' ||
    failure.$metadata?.httpStatusCode === 403
  ) {
    // `local --serve` makes a key pair per run: old exports, or another user's, are refused.
    const fix =
      target.endpoint && isLoopback(target.endpoint)
        ? 'use --local, or the AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY that this run of `local --serve` printed'
        : `your credentials may not use ${target.bucket ?? target.queueUrl}`;
    return new CliError(`access denied by ${where}: ${fix}`, { cause: error, code: 'ACCESS_DENIED' });
  }
  return new CliError(`${failure.name ?? 'AWS error'}: ${failure.message ?? String(error)}`, {
    cause: error,
    code: 'AWS_ERROR',
  });
}
