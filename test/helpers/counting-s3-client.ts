import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../common/aws-clients.js';
import type { LocalPipeline } from './local-pipeline.js';

/**
 * An S3 client for the emulator that counts the commands it sends, by name (`GetObjectCommand`,
 * …), and the most it had under way at once (`mostInFlight`).
 */
export function countingS3Client(pipeline: LocalPipeline): {
  s3: S3Client;
  calls: Map<string, number>;
  total(): number;
  mostInFlight(): number;
} {
  const s3 = createS3Client(pipeline.aws.clientOptions());
  const calls = new Map<string, number>();
  const inFlight = { now: 0, most: 0 };
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      calls.set(context.commandName!, (calls.get(context.commandName!) ?? 0) + 1);
      inFlight.most = Math.max(inFlight.most, ++inFlight.now);
      try {
        return await next(args);
      } finally {
        inFlight.now--;
      }
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    s3,
    calls,
    total: () => [...calls.values()].reduce((sum, count) => sum + count, 0),
    mostInFlight: () => inFlight.most,
  };
}
