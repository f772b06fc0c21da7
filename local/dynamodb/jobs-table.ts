import { CreateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { AwsClientOptions } from '../../common/aws-clients.js';
import { createDynamoDbClient } from '../../common/dynamodb-client.js';
import { JOBS_TABLE } from '../../pipeline/jobs/job-table.js';

/** The jobs table as the stack creates it (see `JOBS_TABLE`): string keys, on-demand, a TTL attribute. */
export async function provisionJobsTable(clientOptions: AwsClientOptions, tableName: string): Promise<void> {
  const dynamo = createDynamoDbClient(clientOptions);
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: JOBS_TABLE.partitionKey, AttributeType: 'S' },
          { AttributeName: JOBS_TABLE.sortKey, AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: JOBS_TABLE.partitionKey, KeyType: 'HASH' },
          { AttributeName: JOBS_TABLE.sortKey, KeyType: 'RANGE' },
        ],
      }),
    );
    await dynamo
      .send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { Enabled: true, AttributeName: JOBS_TABLE.timeToLiveAttribute },
        }),
      )
      // dynalite does not expire items (and has no UpdateTimeToLive): a local run is short.
      .catch(() => undefined);
  } finally {
    dynamo.destroy();
  }
}
