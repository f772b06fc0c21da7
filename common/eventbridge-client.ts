import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { customEndpoint, sharedClientConfig, type AwsClientOptions } from './aws-clients.js';

/** An EventBridge client (the worker's completion events), with the same timeouts as S3 and SQS. Its own module: only the worker loads it. */
export function createEventBridgeClient(options: AwsClientOptions = {}): EventBridgeClient {
  const endpoint = customEndpoint(options.endpoint, 'AWS_ENDPOINT_URL_EVENTBRIDGE');
  return new EventBridgeClient({
    ...sharedClientConfig(options),
    ...(endpoint ? { endpoint } : {}),
  });
}
