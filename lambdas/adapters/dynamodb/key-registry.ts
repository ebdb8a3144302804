/**
 * The key registry through the AWS SDK: one strongly consistent `GetItem` to read it (so a
 * rotation written a moment ago is seen), one conditional `PutItem` to replace it. The write is
 * conditioned on the version read (or on there being no item, for the first rotation): of two
 * concurrent rotations exactly one lands, and the other learns it and writes nothing.
 */
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KeyRegistry } from '../../core/key-registry.ts';
import type { KeyRegistryStore } from '../../core/ports.ts';
import { conditional, dynamo } from './errors.ts';
import { KEY_REGISTRY_KEY, keyRegistryItem, parseKeyRegistryItem } from './key-registry-item.ts';

export class DynamoDbKeyRegistry implements KeyRegistryStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<KeyRegistry | undefined> {
    const answer = await dynamo(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { ...KEY_REGISTRY_KEY }, ConsistentRead: true })),
    );
    return parseKeyRegistryItem(answer.Item);
  }

  async write(next: KeyRegistry, expectedVersion: number | undefined): Promise<boolean> {
    const condition =
      expectedVersion === undefined
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
          };
    const written = await conditional(() =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: keyRegistryItem(next), ...condition })),
    );
    return written.ok;
  }
}
