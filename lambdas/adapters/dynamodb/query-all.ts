/**
 * Every item a Query matches, page after page: one Query call returns at most 1 MB, and
 * `LastEvaluatedKey` says where the next page starts ("Paginating table query results" in the
 * DynamoDB developer guide). The partitions read this way (one user's sessions, passkeys, recovery
 * codes) are small; paging keeps a large one from being read half.
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { dynamo } from './errors.ts';
import type { Item } from './items.ts';

export async function queryAll(client: DynamoDBClient, input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await dynamo(() => client.send(new QueryCommand({ ...input, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) })));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}
