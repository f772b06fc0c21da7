import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { customEndpoint, sharedClientConfig, type AwsClientOptions } from './aws-clients.js';

/** A DynamoDB client (job state), with the same timeouts as S3 and SQS. Its own module: only job code loads it. */
export function createDynamoDbClient(options: AwsClientOptions = {}): DynamoDBClient {
  const endpoint = customEndpoint(options.endpoint, 'AWS_ENDPOINT_URL_DYNAMODB');
  return new DynamoDBClient({
    ...sharedClientConfig(options),
    ...(endpoint ? { endpoint } : {}),
  });
}
