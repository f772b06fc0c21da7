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
} as const;

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
