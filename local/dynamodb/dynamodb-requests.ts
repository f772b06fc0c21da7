import type { IncomingMessage } from 'node:http';

/** True for a request in DynamoDB's protocol (JSON, `X-Amz-Target: DynamoDB_20120810.<Operation>`). */
export function isDynamoDbRequest(headers: IncomingMessage['headers']): boolean {
  const target = headers['x-amz-target'];
  return typeof target === 'string' && target.startsWith('DynamoDB_20120810.');
}
