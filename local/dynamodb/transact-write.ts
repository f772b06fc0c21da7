/**
 * TransactWriteItems for the embedded DynamoDB (dynalite speaks every single-item call but no
 * transactions). Run while the caller holds the emulator's one lock, so no other request sees a
 * transaction half done: the items are read, every write is applied with its own condition
 * through the single-item calls, and if any condition fails the writes already applied are undone
 * from what was read, and the answer is DynamoDB's `TransactionCanceledException` with one
 * cancellation reason per item, in order (`None` for the items that did not fail).
 *
 * Not emulated: `ClientRequestToken` idempotency, `ReturnValuesOnConditionCheckFailure`, and the
 * conflict with a concurrent transaction (`TransactionConflict`), which cannot happen under the lock.
 */

/** One single-item call to the emulator beneath: its status and JSON answer. */
export type SingleItemCall = (operation: string, body: Record<string, unknown>) => Promise<CallAnswer>;

export interface CallAnswer {
  readonly status: number;
  readonly body: Record<string, any>;
}

type Item = Record<string, unknown>;

/** DynamoDB's limit on the items of one transaction. */
export const MAX_TRANSACTION_ITEMS = 100;

interface PlannedWrite {
  readonly kind: 'Put' | 'Update' | 'Delete' | 'ConditionCheck';
  readonly table: string;
  readonly key: Item;
  readonly request: Record<string, any>;
}

export async function transactWriteItems(input: Record<string, any>, call: SingleItemCall): Promise<CallAnswer> {
  const items: unknown = input.TransactItems;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_TRANSACTION_ITEMS)
    return validation(`TransactItems must hold 1 to ${MAX_TRANSACTION_ITEMS} items`);
  const keySchemas = new Map<string, string[]>();
  const planned: PlannedWrite[] = [];
  const seen = new Set<string>();
  for (const entry of items as Array<Record<string, any>>) {
    const kinds = (['Put', 'Update', 'Delete', 'ConditionCheck'] as const).filter((kind) => entry?.[kind]);
    if (kinds.length !== 1)
      return validation('each of TransactItems must hold exactly one of Put, Update, Delete, ConditionCheck');
    const kind = kinds[0]!;
    const request = entry[kind] as Record<string, any>;
    const table = String(request.TableName ?? '');
    if (!keySchemas.has(table)) {
      const described = await call('DescribeTable', { TableName: table });
      if (described.status !== 200) return described;
      keySchemas.set(
        table,
        (described.body.Table.KeySchema as Array<{ AttributeName: string }>).map((part) => part.AttributeName),
      );
    }
    const source: Item = kind === 'Put' ? (request.Item ?? {}) : (request.Key ?? {});
    const key = Object.fromEntries(keySchemas.get(table)!.map((name) => [name, source[name]]));
    const identity = `${table}\u0000${JSON.stringify(key)}`;
    if (seen.has(identity)) return validation('Transaction request cannot include multiple operations on one item');
    seen.add(identity);
    planned.push({ kind, table, key, request });
  }

  const before: Array<Item | undefined> = [];
  for (const write of planned) {
    const read = await call('GetItem', { TableName: write.table, Key: write.key, ConsistentRead: true });
    if (read.status !== 200) return read;
    before.push(read.body.Item as Item | undefined);
  }

  const reasons: Array<{ Code: string; Message?: string }> = [];
  const applied: number[] = [];
  for (const [index, write] of planned.entries()) {
    const answer = await call(...singleItemCall(write));
    if (answer.status === 200) {
      applied.push(index);
      reasons.push({ Code: 'None' });
    } else if (String(answer.body.__type ?? '').endsWith('ConditionalCheckFailedException')) {
      reasons.push({ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' });
    } else {
      reasons.push({ Code: 'ValidationError', Message: String(answer.body.message ?? answer.body.Message ?? '') });
    }
  }
  const cancelled = reasons.some((reason) => reason.Code !== 'None');
  // A condition check is applied as a conditional delete; it is always put back.
  const undo = cancelled ? applied : applied.filter((index) => planned[index]!.kind === 'ConditionCheck');
  for (const index of undo) {
    const write = planned[index]!;
    const previous = before[index];
    const restored = previous
      ? await call('PutItem', { TableName: write.table, Item: previous })
      : await call('DeleteItem', { TableName: write.table, Key: write.key });
    if (restored.status !== 200) return restored;
  }
  if (!cancelled) return { status: 200, body: {} };
  return {
    status: 400,
    body: {
      __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
      CancellationReasons: reasons,
      Message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(', ')}]`,
    },
  };
}

/** The single-item call that applies one write of a transaction, with its condition. */
function singleItemCall(write: PlannedWrite): [string, Record<string, unknown>] {
  const { TableName, ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = write.request;
  const expressions = {
    TableName,
    ...(ConditionExpression ? { ConditionExpression } : {}),
    ...(ExpressionAttributeNames ? { ExpressionAttributeNames } : {}),
    ...(ExpressionAttributeValues ? { ExpressionAttributeValues } : {}),
  };
  switch (write.kind) {
    case 'Put':
      return ['PutItem', { ...expressions, Item: write.request.Item }];
    case 'Update':
      return ['UpdateItem', { ...expressions, Key: write.key, UpdateExpression: write.request.UpdateExpression }];
    case 'Delete':
    case 'ConditionCheck':
      return ['DeleteItem', { ...expressions, Key: write.key }];
  }
}

function validation(message: string): CallAnswer {
  return { status: 400, body: { __type: 'com.amazon.coral.validate#ValidationException', message } };
}
