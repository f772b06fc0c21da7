import { uploadKeyFor } from '../../pipeline/object-keys.js';
import { CliError } from '../support/cli-error.js';
import { type Target } from '../target/target.js';

/** `s3://<bucket>/<key>` (the form `upload` prints) as a key of the target's bucket; anything else as given. */
export function keyInTargetBucket(argument: string, target: Target): string {
  const uri = /^s3:\/\/([^/]+)\/?(.*)$/s.exec(argument);
  if (!uri) return argument;
  if (uri[1] !== target.bucket)
    throw new CliError(`${argument} names bucket ${uri[1]}, but the pipeline's bucket is ${target.bucket}`);
  return uri[2]!;
}

/** The upload key an argument names: a result key, an upload key, or a path below the uploads prefix. */
export function uploadKeyFromArgument(argument: string, target: Target): string {
  const { uploadsPrefix, resultsPrefix } = target.layout;
  if (argument.startsWith(resultsPrefix) && argument.endsWith('.json')) {
    try {
      return uploadKeyFor(argument, target.layout);
    } catch (error) {
      throw new CliError((error as Error).message);
    }
  }
  if (argument.startsWith(uploadsPrefix)) return argument;
  return uploadsPrefix + argument.replace(/^\/+/, '');
}
