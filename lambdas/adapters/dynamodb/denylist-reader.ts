/**
 * Reads a user's revocation item (core/denylist-policy.ts: logout everywhere, revoked sessions,
 * revoked tokens) in ONE `GetItem`, strongly consistent so a revocation written a moment ago is
 * seen (`ConsistentRead: true`). The item stays below 4 KB, so the read costs one read unit
 * ("Read/write capacity mode" in the DynamoDB Developer Guide: a strongly consistent read of up
 * to 4 KB is one read unit; a projection would not lower it, the whole item is billed).
 *
 * Failure policy: fail closed. Any HTTP error (throttling
 * `ProvisionedThroughputExceededException`, `RequestLimitExceeded`, 5xx), timeout or unreadable
 * answer becomes `DependencyUnavailableError`; an item that is there but malformed is
 * `'unreadable'`, which the policy treats as revoked.
 */
import { isRecord } from '../../core/is-record.ts';
import { DependencyUnavailableError } from '../../core/errors.ts';
import type { StoredRevocationState } from '../../core/denylist-policy.ts';
import type { DenylistReader } from '../../core/ports.ts';
import { DENYLIST_SK, revocationKey } from '../../core/token-model.ts';
import type { AwsJsonClient } from '../aws/aws-json-client.ts';
import { withDeadline } from '../aws/deadline.ts';
import { parseRevocationItem } from './revocation-item.ts';

/** The whole call must finish within this budget (API Gateway waits 10 s at most). */
export const DEFAULT_DENYLIST_BUDGET_MS = 1500;

export class DynamoDbDenylistReader implements DenylistReader {
  constructor(
    private readonly client: AwsJsonClient,
    private readonly tableName: string,
    private readonly budgetMs: number = DEFAULT_DENYLIST_BUDGET_MS,
  ) {}

  read(sub: string): Promise<StoredRevocationState> {
    return withDeadline(this.budgetMs, async (deadline) => {
      let response: unknown;
      try {
        response = await this.client.call(
          'DynamoDB_20120810.GetItem',
          { TableName: this.tableName, Key: { pk: { S: revocationKey(sub) }, sk: { S: DENYLIST_SK } }, ConsistentRead: true },
          deadline,
        );
      } catch (cause) {
        throw new DependencyUnavailableError('DynamoDB', cause);
      }
      // "No item" must mean DynamoDB said so (a 200 whose JSON object has no `Item`), since it
      // means "not revoked"; anything else we cannot read is an outage.
      if (!isRecord(response)) throw new DependencyUnavailableError('DynamoDB', new Error('unreadable response'));
      return parseRevocationItem(response.Item).state;
    });
  }
}


/**
 * Optional in-process cache (env `DENYLIST_CACHE_SECONDS`, default 0 = off). A revocation can
 * then take up to that many seconds to reach a warm container that already read the user's
 * item: bounded staleness traded for DynamoDB reads. Only successful reads are cached (an
 * outage is never remembered as "not revoked"); the cache holds at most `maxUsers` users and is
 * cleared, not grown, past that.
 */
export class CachedDenylistReader implements DenylistReader {
  private readonly cache = new Map<string, { readonly until: number; readonly state: StoredRevocationState }>();

  constructor(
    private readonly inner: DenylistReader,
    private readonly ttlMs: number,
    private readonly nowMs: () => number = Date.now,
    private readonly maxUsers = 10_000,
  ) {}

  async read(sub: string): Promise<StoredRevocationState> {
    const now = this.nowMs();
    const hit = this.cache.get(sub);
    if (hit !== undefined && hit.until > now) return hit.state;
    const state = await this.inner.read(sub);
    if (this.cache.size >= this.maxUsers) this.cache.clear();
    this.cache.set(sub, { until: now + this.ttlMs, state });
    return state;
  }
}
