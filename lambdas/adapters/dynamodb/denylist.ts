/**
 * Writes to a user's revocation item (pk `DENY#SUB#<sub>`, sk `DENY`; core/denylist-policy.ts owns
 * what the item means and how it changes). Every write is read-modify-write under an optimistic
 * lock: a strongly consistent `GetItem`, the pure `withRevocation`, then a `PutItem` conditioned
 * on the version it read ("Optimistic locking with version number" in the DynamoDB Developer
 * Guide). Timeline of two concurrent writers A and B on one user:
 *
 *   t0  item version 7                     A and B both GetItem: version 7
 *   t1  A PutItem IF version = 7  SET version 8, A's entry   succeeds
 *   t2  B PutItem IF version = 7                             ConditionalCheckFailed: nothing written
 *   t3  B GetItem: version 8 (A's entry in it), PutItem IF version = 8 SET version 9, both entries
 *
 * So no revocation overwrites another, and a logout-everywhere that lands late cannot lower
 * `notBefore` (B recomputes from what A wrote, and `withRevocation` keeps the later instant).
 * An item with no `version` (an earlier release's logout entry) is taken over with
 * `attribute_not_exists(version)`, a missing item with `attribute_not_exists(pk)`.
 * A login's `TransactWriteItems` that checks the item at the same moment can make the PutItem fail
 * with `TransactionConflictException`; that is retried the same way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { withRevocation, type RevocationChange } from '../../core/denylist-policy.ts';
import { DependencyUnavailableError, RetryableConflictError } from '../../core/errors.ts';
import type { TokenDenylist } from '../../core/ports.ts';
import { DENYLIST_SK, revocationKey } from '../../core/token-model.ts';
import { dynamo, isNamed } from './errors.ts';
import { parseRevocationItem, revocationItem } from './revocation-item.ts';

/** Enough for dozens of concurrent revocations of one user; each round at least one writer wins. */
const MAX_ATTEMPTS = 30;

export class DynamoDbRevocations implements TokenDenylist {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly nowMs: () => number = Date.now,
  ) {}

  denyToken(sub: string, jti: string, expiresAt: number): Promise<void> {
    return this.apply(sub, { kind: 'token', jti, until: expiresAt });
  }

  async apply(sub: string, change: RevocationChange): Promise<void> {
    const key = { pk: { S: revocationKey(sub) }, sk: { S: DENYLIST_SK } };
    let lastConflict: unknown;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(Math.random() * 10 * 2 ** Math.min(attempt, 4));
      const read = await dynamo(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })));
      const stored = parseRevocationItem(read.Item);
      if (stored.state === 'unreadable') {
        throw new DependencyUnavailableError('DynamoDB', new Error(`unreadable revocation item ${revocationKey(sub)}`));
      }
      const next = withRevocation(stored.state, change, Math.floor(this.nowMs() / 1000));
      const condition =
        stored.version === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : stored.version === 0
            ? { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#version)', ExpressionAttributeNames: { '#version': 'version' } }
            : {
                ConditionExpression: '#version = :version',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': { N: String(stored.version) } },
              };
      try {
        await this.client.send(
          new PutItemCommand({ TableName: this.tableName, Item: revocationItem(sub, next, (stored.version ?? 0) + 1), ...condition }),
        );
        return;
      } catch (error) {
        if (!isNamed(error, 'ConditionalCheckFailedException') && !isNamed(error, 'TransactionConflictException')) {
          throw new DependencyUnavailableError('DynamoDB', error);
        }
        lastConflict = error;
      }
    }
    throw new RetryableConflictError('Too many concurrent revocations for this user; try again.', lastConflict);
  }
}
