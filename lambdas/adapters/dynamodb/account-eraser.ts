/**
 * Erasing an account's items (the order is the core's: `core/account-deletion.ts`). Every write
 * here is idempotent: deleting what is already gone succeeds, and the conditions name the old
 * `sub`, so a new account created under the same username is never touched.
 *
 * The user's partition (pk `SUB#<sub>`) is read with a strongly consistent, paginated Query of
 * its keys only, and deleted with BatchWriteItem, 25 requests per call (its limit). BatchWriteItem
 * may leave some requests unprocessed (throttling, "BatchWriteItem" in the DynamoDB API
 * Reference): those are sent again with exponential backoff, and if some still remain the call
 * fails (503), so a deletion never reports success with items left behind.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError } from '../../core/errors.ts';
import type { AccountEraser } from '../../core/ports.ts';
import { conditional, dynamo } from './errors.ts';
import { queryAll } from './query-all.ts';
import { N, S, type Item } from './items.ts';

/** BatchWriteItem takes at most 25 put or delete requests. */
const BATCH_SIZE = 25;
/** Rounds for unprocessed items: backoff 20, 40, ... ms, about 2.5 s in all. */
const MAX_BATCH_ROUNDS = 7;

const FAMILY = 'FAMILY#';

const userKey = (username: string): Item => ({ pk: S(`USER#${username}`), sk: S('USER') });

export class DynamoDbAccountEraser implements AccountEraser {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly nowMs: () => number = Date.now,
  ) {}

  async markDeletion(username: string, sub: string): Promise<boolean> {
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: userKey(username),
          UpdateExpression: 'SET #status = :disabled, deletionPending = :true, updatedAt = :now',
          ConditionExpression: '#sub = :sub',
          ExpressionAttributeNames: { '#status': 'status', '#sub': 'sub' },
          ExpressionAttributeValues: { ':disabled': S('disabled'), ':true': { BOOL: true }, ':sub': S(sub), ':now': N(Math.floor(this.nowMs() / 1000)) },
        }),
      ),
    );
    return result.ok;
  }

  async erasePartition(sub: string, part: 'credentials' | 'sessions'): Promise<number> {
    const keys = await this.partitionKeys(sub, part);
    for (let start = 0; start < keys.length; start += BATCH_SIZE) {
      await this.deleteBatch(keys.slice(start, start + BATCH_SIZE).map((Key) => ({ DeleteRequest: { Key } })));
    }
    return keys.length;
  }

  async deleteUser(username: string, sub: string): Promise<void> {
    await conditional(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: userKey(username),
          ConditionExpression: '#sub = :sub',
          ExpressionAttributeNames: { '#sub': 'sub' },
          ExpressionAttributeValues: { ':sub': S(sub) },
        }),
      ),
    );
  }

  /** The keys of the part of the partition to erase: the families, or everything else. */
  private async partitionKeys(sub: string, part: 'credentials' | 'sessions'): Promise<Item[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      // A Query cannot filter on a key attribute, so "everything but the families" is chosen here.
      ...(part === 'sessions'
        ? { KeyConditionExpression: 'pk = :pk AND begins_with(sk, :family)', ExpressionAttributeValues: { ':pk': S(`SUB#${sub}`), ':family': S(FAMILY) } }
        : { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': S(`SUB#${sub}`) } }),
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
    const keys: Item[] = [];
    for (const { pk, sk } of items) {
      const isFamily = sk?.S?.startsWith(FAMILY) === true;
      if (pk !== undefined && sk !== undefined && isFamily === (part === 'sessions')) keys.push({ pk, sk });
    }
    return keys;
  }

  private async deleteBatch(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let round = 0; round < MAX_BATCH_ROUNDS; round++) {
      if (round > 0) await sleep(10 * 2 ** round);
      const result = await dynamo(() => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: pending } })));
      pending = result.UnprocessedItems?.[this.tableName] ?? [];
      if (pending.length === 0) return;
    }
    throw new DependencyUnavailableError('DynamoDB', new Error(`${pending.length} deletions left unprocessed`));
  }
}
