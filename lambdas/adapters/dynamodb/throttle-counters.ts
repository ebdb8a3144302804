/**
 * Login attempt counters: pk `RATE#UIP#<username>#<ip>`, `RATE#USER#<username>`, `RATE#IP#<ip>`,
 * sk `RATE`; attributes attempts, lastAttemptAt (ms), windowEndsAt (ms), ttl (s). The policy
 * (thresholds, delays, which plan to use) is in `core/login-throttle.ts`; this file turns a plan
 * into one conditional UpdateItem.
 *
 * Timeline of a burst on a fresh username+IP counter (threshold 5), every request having read
 * "no counter":
 *
 *   t0  40 requests send  SET attempts = 1 ... IF attribute_not_exists(attempts) OR windowEndsAt <= now
 *   t1  one passes (attempts = 1); 39 fail and get the item back (ALL_OLD): attempts 1, window open
 *   t2  the 39 send  ADD attempts 1 ... IF windowEndsAt > now AND attempts < 5
 *   t3  four pass (attempts = 5); 35 fail, get attempts = 5 back: blocked → 429, password never checked
 *
 * DynamoDB applies conditional writes to one item one at a time (Developer Guide, "Condition
 * expressions"; "Atomic counters"), so the condition is evaluated against every earlier increment:
 * exactly `threshold` attempts get through, however many arrive at once. Past the threshold,
 * `attempts = :seen AND lastAttemptAt = :seenLast` lets exactly one request take each slot that a
 * passed delay opens.
 */
import { DeleteItemCommand, BatchGetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CounterKind, CounterState, CountPlan, CountResult, ThrottleCounters, ThrottleKey } from '../../core/ports.ts';
import { DependencyUnavailableError } from '../../core/errors.ts';
import { conditional, dynamo } from './errors.ts';
import { N, S, num, str, type Item } from './items.ts';

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

function counterState(item: Item | undefined): CounterState | undefined {
  const attempts = num(item, 'attempts');
  const lastAttemptAt = num(item, 'lastAttemptAt');
  const windowEndsAt = num(item, 'windowEndsAt');
  if (attempts === undefined || lastAttemptAt === undefined || windowEndsAt === undefined) return undefined;
  return { attempts, lastAttemptAt, windowEndsAt };
}

const COUNT = 'ADD attempts :one SET lastAttemptAt = :now, windowEndsAt = :end, #ttl = :ttl';

function countExpression(plan: CountPlan): { update: string; condition: string; values: Item } {
  switch (plan.mode) {
    case 'start':
      // An item without `attempts` (malformed, or from an older version) is restarted too.
      return {
        update: 'SET attempts = :one, lastAttemptAt = :now, windowEndsAt = :end, #ttl = :ttl',
        condition: 'attribute_not_exists(attempts) OR windowEndsAt <= :now',
        values: {},
      };
    case 'below':
      return { update: COUNT, condition: 'windowEndsAt > :now AND attempts < :threshold', values: { ':threshold': N(plan.threshold) } };
    case 'exact':
      return {
        update: COUNT,
        condition: 'windowEndsAt > :now AND attempts = :seen AND lastAttemptAt = :seenLast',
        values: { ':seen': N(plan.seen.attempts), ':seenLast': N(plan.seen.lastAttemptAt) },
      };
  }
}

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
      const state = counterState(item);
      if (kind !== undefined && state !== undefined) out[kind] = state;
    }
    // BatchGetItem may leave keys unprocessed under throttling: fail closed (503), never treat an
    // unread counter as zero.
    if (Object.keys(result.UnprocessedKeys ?? {}).length > 0) {
      throw new DependencyUnavailableError('DynamoDB', new Error('Throttle counters left unprocessed.'));
    }
    return out;
  }

  async count(key: ThrottleKey, kind: CounterKind, plan: CountPlan, nowMs: number, windowMs: number): Promise<CountResult> {
    const windowEndsAt = nowMs + windowMs;
    const { update, condition, values } = countExpression(plan);
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(counterPk(kind, key)), sk: S('RATE') },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':one': N(1),
            ':now': N(nowMs),
            ':end': N(windowEndsAt),
            ':ttl': N(Math.ceil(windowEndsAt / 1000)),
            ...values,
          },
          // The counter as it is now comes back with the failed condition: no second read.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    return result.ok ? { counted: true } : { counted: false, current: counterState(result.oldItem as Item | undefined) };
  }

  async uncount(key: ThrottleKey, kind: CounterKind): Promise<void> {
    await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: S(counterPk(kind, key)), sk: S('RATE') },
          UpdateExpression: 'ADD attempts :minus',
          ConditionExpression: 'attempts > :zero',
          ExpressionAttributeValues: { ':minus': N(-1), ':zero': N(0) },
        }),
      ),
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
