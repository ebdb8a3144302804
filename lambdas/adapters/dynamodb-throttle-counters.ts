/**
 * Login failure counters: pk `RATE#UIP#<username>#<ip>`, `RATE#USER#<username>`, `RATE#IP#<ip>`,
 * sk `RATE`; attributes failures, lastFailureAt (ms), windowEndsAt (ms), ttl (s). The policy is in
 * `core/login-throttle.ts`.
 */
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { CounterKind, CounterState, ThrottleCounters, ThrottleKey } from '../core/login-throttle.ts';
import { DependencyUnavailableError } from '../core/errors.ts';
import { conditional, dynamo } from './dynamodb-errors.ts';
import { N, S, num, str, type Item } from './dynamodb-items.ts';

const KINDS: readonly CounterKind[] = ['user_ip', 'user', 'ip'];

function counterPk(kind: CounterKind, key: ThrottleKey): string {
  switch (kind) {
    case 'user_ip':
      return `RATE#UIP#${key.username}#${key.sourceIp}`;
    case 'user':
      return `RATE#USER#${key.username}`;
    case 'ip':
      return `RATE#IP#${key.sourceIp}`;
  }
}

/** ADD-or-start rounds before giving up; each lost round means another request just counted. */
const MAX_COUNT_ATTEMPTS = 3;

export class DynamoDbThrottleCounters implements ThrottleCounters {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async read(key: ThrottleKey): Promise<Partial<Record<CounterKind, CounterState>>> {
    const pks = new Map(KINDS.map((kind) => [counterPk(kind, key), kind] as const));
    const result = await dynamo(() =>
      this.client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [this.tableName]: { Keys: [...pks.keys()].map((pk) => ({ pk: S(pk), sk: S('RATE') })), ConsistentRead: true },
          },
        }),
      ),
    );
    const out: Partial<Record<CounterKind, CounterState>> = {};
    for (const item of result.Responses?.[this.tableName] ?? []) {
      const kind = pks.get(str(item, 'pk') ?? '');
      const failures = num(item, 'failures');
      const lastFailureAt = num(item, 'lastFailureAt');
      const windowEndsAt = num(item, 'windowEndsAt');
      if (kind !== undefined && failures !== undefined && lastFailureAt !== undefined && windowEndsAt !== undefined) {
        out[kind] = { failures, lastFailureAt, windowEndsAt };
      }
    }
    // BatchGetItem may leave keys unprocessed under throttling: fail closed (503), never treat an
    // unread counter as zero.
    if (Object.keys(result.UnprocessedKeys ?? {}).length > 0) {
      throw new DependencyUnavailableError('DynamoDB', new Error('Throttle counters left unprocessed.'));
    }
    return out;
  }

  async addFailure(key: ThrottleKey, nowMs: number, windowMs: number): Promise<void> {
    const windowEndsAt = nowMs + windowMs;
    const ttl = Math.ceil(windowEndsAt / 1000);
    await Promise.all(
      KINDS.map(async (kind) => {
        const itemKey: Item = { pk: S(counterPk(kind, key)), sk: S('RATE') };
        const values = { ':one': N(1), ':now': N(nowMs), ':end': N(windowEndsAt), ':ttl': N(ttl) };
        // Within the window: count up and extend it. Outside (or no item): start again at 1, but
        // only if it is still outside, so that concurrent failures never reset each other's
        // counts; a start that lost the race is counted by the next ADD instead.
        for (let attempt = 0; attempt < MAX_COUNT_ATTEMPTS; attempt++) {
          const counted = await conditional(() =>
            this.client.send(
              new UpdateItemCommand({
                TableName: this.tableName,
                Key: itemKey,
                UpdateExpression: 'ADD failures :one SET lastFailureAt = :now, windowEndsAt = :end, #ttl = :ttl',
                ConditionExpression: 'windowEndsAt > :now',
                ExpressionAttributeNames: { '#ttl': 'ttl' },
                ExpressionAttributeValues: values,
              }),
            ),
          );
          if (counted.ok) return;
          const started = await conditional(() =>
            this.client.send(
              new UpdateItemCommand({
                TableName: this.tableName,
                Key: itemKey,
                UpdateExpression: 'SET failures = :one, lastFailureAt = :now, windowEndsAt = :end, #ttl = :ttl',
                ConditionExpression: 'attribute_not_exists(windowEndsAt) OR windowEndsAt <= :now',
                ExpressionAttributeNames: { '#ttl': 'ttl' },
                ExpressionAttributeValues: values,
              }),
            ),
          );
          if (started.ok) return;
        }
        // Only reachable if the window keeps opening and closing under us: fail closed (503).
        throw new DependencyUnavailableError('DynamoDB', new Error('Throttle counter kept changing under concurrent updates.'));
      }),
    );
  }

  async clear(key: ThrottleKey, kind: CounterKind): Promise<void> {
    await dynamo(() =>
      this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: { pk: S(counterPk(kind, key)), sk: S('RATE') } }),
      ),
    );
  }
}
