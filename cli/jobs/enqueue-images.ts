import { setTimeout as sleep } from 'node:timers/promises';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import {
  IMAGES_PER_MESSAGE,
  jobMessageBody,
  MESSAGES_PER_BATCH,
  type ListedImage,
} from '../../pipeline/jobs/job-messages.js';
import { CliError } from '../support/cli-error.js';

/** Images per SendMessageBatch request. */
export const IMAGES_PER_REQUEST = IMAGES_PER_MESSAGE * MESSAGES_PER_BATCH;

/** SendMessageBatch requests in flight at once. */
export const ENQUEUE_CONCURRENCY = 8;

/** Rounds for the entries of a request that SQS did not take (throttled, or a server error). */
const MAX_SEND_ROUNDS = 5;

export interface EnqueueOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly jobId: string;
  readonly region: string;
  /** The manifest's images, in order. */
  readonly images: AsyncIterable<ListedImage>;
  /** Images at the start of the manifest already on the queue (a resumed job). */
  readonly skip: number;
  /** Called as the count of images on the queue, in manifest order, grows. */
  readonly onProgress: (enqueued: number, requests: number) => Promise<void> | void;
  /** Stops sending more (Ctrl-C): the requests in flight finish, and the count says how far it got. */
  readonly signal?: AbortSignal;
}

/**
 * Sends a job's images to the queue, {@link IMAGES_PER_MESSAGE} per message and
 * {@link MESSAGES_PER_BATCH} messages per SendMessageBatch, {@link ENQUEUE_CONCURRENCY} requests at
 * once. Requests may finish out of order; the count reported is of images sent *in manifest order*
 * (every request before it has finished), which is what a resumed job skips. Stopped by `signal`,
 * it waits for the requests in flight, so the count is exact and a resume sends nothing twice.
 */
export async function enqueueImages(
  options: EnqueueOptions,
): Promise<{ enqueued: number; requests: number; interrupted: boolean }> {
  let position = 0;
  let chunk: ListedImage[] = [];
  const inFlight = new Set<Promise<void>>();
  // Finished requests by their first image's position; `enqueued` advances over them in order.
  const finished = new Map<number, number>();
  let enqueued = options.skip;
  let requests = 0;
  let failure: unknown;

  const send = (start: number, images: ListedImage[]) => {
    const task = sendRequest(options, images)
      .then(async () => {
        requests++;
        finished.set(start, images.length);
        while (finished.has(enqueued)) {
          const count = finished.get(enqueued)!;
          finished.delete(enqueued);
          enqueued += count;
        }
        await options.onProgress(enqueued, requests);
      })
      .catch((error: unknown) => {
        failure ??= error;
      })
      .finally(() => inFlight.delete(task));
    inFlight.add(task);
  };

  for await (const image of options.images) {
    if (failure || options.signal?.aborted) break;
    if (position++ < options.skip) continue;
    chunk.push(image);
    if (chunk.length < IMAGES_PER_REQUEST) continue;
    send(position - chunk.length, chunk);
    chunk = [];
    while (inFlight.size >= ENQUEUE_CONCURRENCY) await Promise.race(inFlight);
  }
  if (chunk.length > 0 && !failure && !options.signal?.aborted) send(position - chunk.length, chunk);
  await Promise.all(inFlight);
  if (failure) throw failure;
  return { enqueued, requests, interrupted: options.signal?.aborted === true };
}

/** One SendMessageBatch of up to 100 images; entries SQS did not take are sent again. */
async function sendRequest(options: EnqueueOptions, images: readonly ListedImage[]): Promise<void> {
  let entries: SendMessageBatchRequestEntry[] = [];
  for (let start = 0; start < images.length; start += IMAGES_PER_MESSAGE) {
    entries.push({
      Id: String(start / IMAGES_PER_MESSAGE),
      MessageBody: jobMessageBody(options.jobId, images.slice(start, start + IMAGES_PER_MESSAGE), options.region),
    });
  }
  for (let round = 1; ; round++) {
    const answer = await options.sqs.send(
      new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }),
    );
    const failed = new Set((answer.Failed ?? []).map((entry) => entry.Id));
    if (failed.size === 0) return;
    const senderFault = (answer.Failed ?? []).find((entry) => entry.SenderFault);
    if (senderFault || round === MAX_SEND_ROUNDS)
      throw new CliError(
        `SQS did not take ${failed.size} message(s) of job ${options.jobId}: ${senderFault?.Code ?? answer.Failed?.[0]?.Code}: ${senderFault?.Message ?? answer.Failed?.[0]?.Message ?? ''}; finish it with \`submit --resume ${options.jobId}\``,
      );
    entries = entries.filter((entry) => failed.has(entry.Id));
    await sleep(100 * 2 ** round);
  }
}
