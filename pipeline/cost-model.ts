/**
 * List prices the cost figures use (us-east-1, on-demand, as published on the AWS pricing pages
 * in November 2026; Spot moves with demand — the figure is an example, check the Spot history).
 * Change them here and the bench prints new figures.
 */
export const LIST_PRICES = {
  instance: 'g4dn.xlarge',
  vcpus: 4,
  onDemandPerHour: 0.526,
  spotPerHourExample: 0.2104,
  s3PutPer1000: 0.005,
  s3GetPer1000: 0.0004,
  s3ListPer1000: 0.005,
  sqsPerMillionRequests: 0.4,
  /** EventBridge custom events (PutEvents), per million: the completion event of each result. */
  eventsPerMillion: 1.0,
  /** DynamoDB on-demand: write and read request units, per million (a transactional write is two units per item). */
  dynamoWriteUnitsPerMillion: 0.625,
  dynamoReadUnitsPerMillion: 0.125,
} as const;

/**
 * What a `submit` job adds per image: the listing (a LIST per 1,000 keys), the manifest (written and
 * read back once: a few PUT/GET per job, nothing per image), a SendMessageBatch per 100 images, and
 * the job state: the counts a worker gathers for 250 ms share one transaction — a marker per image
 * and the job's counters, two write units per item — and one strongly consistent read. At 50 images
 * per transaction (a busy worker) that is 2.04 write units and 0.02 reads per image; at one image
 * per transaction (a trickle) 4 and 1.
 */
export const JOB_REQUESTS_PER_IMAGE = {
  s3List: 1 / 1000,
  sqsSend: 1 / 100,
  dynamoWriteUnits: 2 * (1 + 1 / 50),
  dynamoReadUnits: 1 / 50,
} as const;

/** The request cost of a job of `images` images (its listing, its messages, its job state), in dollars. */
export function jobRequestCost(images: number): { listing: number; enqueue: number; jobState: number; total: number } {
  const listing = Math.ceil(images * JOB_REQUESTS_PER_IMAGE.s3List) * (LIST_PRICES.s3ListPer1000 / 1000);
  const enqueue = Math.ceil(images * JOB_REQUESTS_PER_IMAGE.sqsSend) * (LIST_PRICES.sqsPerMillionRequests / 1e6);
  const jobState =
    (images * JOB_REQUESTS_PER_IMAGE.dynamoWriteUnits * LIST_PRICES.dynamoWriteUnitsPerMillion +
      images * JOB_REQUESTS_PER_IMAGE.dynamoReadUnits * LIST_PRICES.dynamoReadUnitsPerMillion) /
    1e6;
  return { listing, enqueue, jobState, total: listing + enqueue + jobState };
}

/**
 * The worker's CPU per image outside inference as `npm run bench` measured it (docs/benchmarks.md):
 * what paces a GPU instance, so what the estimates of `submit --dry-run` use.
 */
export const MEASURED_WORKER_CPU_MS = { smallImage: 7.8, photo12Mp: 26.1 } as const;

/** What one image costs in requests when receives are full (ten messages each). */
export const REQUESTS_PER_IMAGE = {
  /** The result object. */
  s3Put: 1,
  /** The upload. */
  s3Get: 1,
  /** The idempotency check: one list page per receive of ten. */
  s3List: 0.1,
  /** S3's notification (SendMessage), a tenth of a ReceiveMessage and of a DeleteMessageBatch. */
  sqs: 1 + 0.1 + 0.1,
  /** The completion event (PutEvents entries are billed one each). */
  events: 1,
} as const;

/** Throughput and cost per million images (compute, and S3, SQS and EventBridge requests) of a host whose CPU work outside inference sets the pace. */
export function costPerMillion(outsideInferenceCpuMsPerImage: number): {
  imagesPerSecondPerVcpu: number;
  imagesPerSecond: number;
  onDemand: number;
  spot: number;
  requests: number;
  resultPutShare: number;
} {
  const imagesPerSecondPerVcpu = 1000 / outsideInferenceCpuMsPerImage;
  const imagesPerSecond = imagesPerSecondPerVcpu * LIST_PRICES.vcpus;
  const hoursPerMillion = 1_000_000 / imagesPerSecond / 3600;
  const s3 =
    REQUESTS_PER_IMAGE.s3Put * LIST_PRICES.s3PutPer1000 +
    REQUESTS_PER_IMAGE.s3Get * LIST_PRICES.s3GetPer1000 +
    REQUESTS_PER_IMAGE.s3List * LIST_PRICES.s3ListPer1000;
  const requests =
    s3 * 1000 +
    REQUESTS_PER_IMAGE.sqs * LIST_PRICES.sqsPerMillionRequests +
    REQUESTS_PER_IMAGE.events * LIST_PRICES.eventsPerMillion;
  return {
    imagesPerSecondPerVcpu,
    imagesPerSecond,
    onDemand: hoursPerMillion * LIST_PRICES.onDemandPerHour,
    spot: hoursPerMillion * LIST_PRICES.spotPerHourExample,
    requests,
    resultPutShare: (REQUESTS_PER_IMAGE.s3Put * LIST_PRICES.s3PutPer1000 * 1000) / requests,
  };
}
