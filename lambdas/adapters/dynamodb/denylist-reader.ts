/**
 * Reads the denylist entries for one token in ONE DynamoDB `BatchGetItem` (the API reference:
 * "BatchGetItem ... retrieves items from one or more tables", up to 100 keys), strongly
 * consistent so a revocation written a moment ago is seen (`ConsistentRead: true`).
 *
 * Failure policy: fail closed. Any HTTP error (throttling
 * `ProvisionedThroughputExceededException`, `RequestLimitExceeded`, 5xx), timeout or unreadable
 * answer becomes `DependencyUnavailableError`. `UnprocessedKeys` (BatchGetItem may return some
 * keys unprocessed under load) are retried once within the same deadline; still unprocessed
 * means unavailable.
 */
import { DependencyUnavailableError } from '../../core/errors.ts';
import type { DenylistEntry } from '../../core/denylist-policy.ts';
import { DENYLIST_SK } from '../../core/token-model.ts';
import type { AwsJsonClient } from '../aws/aws-json-client.ts';
import { withDeadline } from '../aws/deadline.ts';
import type { Deadline } from '../aws/deadline.ts';

export interface DenylistReader {
  /** Entries that exist for `keys` (absent keys are absent from the map). */
  read(keys: readonly string[]): Promise<ReadonlyMap<string, DenylistEntry>>;
}

/** The whole call, retry included, must finish within this budget (API Gateway waits 10 s at most). */
export const DEFAULT_DENYLIST_BUDGET_MS = 1500;

export class DynamoDbDenylistReader implements DenylistReader {
  constructor(
    private readonly client: AwsJsonClient,
    private readonly tableName: string,
    private readonly budgetMs: number = DEFAULT_DENYLIST_BUDGET_MS,
  ) {}

  read(keys: readonly string[]): Promise<ReadonlyMap<string, DenylistEntry>> {
    return withDeadline(this.budgetMs, (deadline) => this.readWithin(keys, deadline));
  }

  private async readWithin(keys: readonly string[], deadline: Deadline): Promise<ReadonlyMap<string, DenylistEntry>> {
    const entries = new Map<string, DenylistEntry>();
    let requestKeys: unknown = keys.map((pk) => ({ pk: { S: pk }, sk: { S: DENYLIST_SK } }));
    for (let attempt = 0; attempt < 2; attempt++) {
      let response: unknown;
      try {
        response = await this.client.call(
          'DynamoDB_20120810.BatchGetItem',
          {
            RequestItems: {
              [this.tableName]: {
                Keys: requestKeys,
                ConsistentRead: true,
                ProjectionExpression: '#pk, #expiresAt, #notBefore',
                ExpressionAttributeNames: { '#pk': 'pk', '#expiresAt': 'expiresAt', '#notBefore': 'notBefore' },
              },
            },
          },
          deadline,
        );
      } catch (cause) {
        throw new DependencyUnavailableError('DynamoDB', cause);
      }
      // Fail closed on any answer we cannot read (a 200 with an empty body, no list for our table,
      // malformed UnprocessedKeys): "no entries" must mean DynamoDB said so, since it means "not
      // revoked". DynamoDB lists every requested table under Responses, empty or not.
      if (!isRecord(response)) throw new DependencyUnavailableError('DynamoDB', new Error('unreadable response'));
      const items = isRecord(response.Responses) ? response.Responses[this.tableName] : undefined;
      if (!Array.isArray(items)) throw new DependencyUnavailableError('DynamoDB', new Error('no Responses for the table'));
      for (const item of items as unknown[]) {
        const entry = toEntry(item);
        if (entry === undefined) throw new DependencyUnavailableError('DynamoDB', new Error('item without pk'));
        entries.set(entry.pk, entry);
      }
      const allUnprocessed = response.UnprocessedKeys;
      if (allUnprocessed === undefined) return entries;
      if (!isRecord(allUnprocessed)) throw new DependencyUnavailableError('DynamoDB', new Error('unreadable UnprocessedKeys'));
      const unprocessed = allUnprocessed[this.tableName];
      if (unprocessed === undefined) return entries;
      if (!isRecord(unprocessed) || !Array.isArray(unprocessed.Keys)) {
        throw new DependencyUnavailableError('DynamoDB', new Error('unreadable UnprocessedKeys'));
      }
      if (unprocessed.Keys.length === 0) return entries;
      requestKeys = unprocessed.Keys;
    }
    throw new DependencyUnavailableError('DynamoDB', new Error('UnprocessedKeys after one retry'));
  }
}

/** A DynamoDB JSON item → entry; numbers that do not parse become `undefined` (read: revoked). */
function toEntry(item: unknown): DenylistEntry | undefined {
  if (!isRecord(item)) return undefined;
  const pk = attribute(item, 'pk', 'S');
  if (pk === undefined) return undefined;
  return { pk, expiresAt: numberAttribute(item, 'expiresAt'), notBefore: numberAttribute(item, 'notBefore') };
}

function attribute(item: Record<string, unknown>, name: string, type: 'S' | 'N'): string | undefined {
  const value = item[name];
  if (!isRecord(value)) return undefined;
  const inner = value[type];
  return typeof inner === 'string' ? inner : undefined;
}

function numberAttribute(item: Record<string, unknown>, name: string): number | undefined {
  const text = attribute(item, name, 'N');
  if (text === undefined) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Optional in-process cache (env `DENYLIST_CACHE_SECONDS`, default 0 = off). A revocation can
 * then take up to that many seconds to reach a warm container that already read the token's
 * keys: bounded staleness traded for DynamoDB reads. Only successful reads are cached (an
 * outage is never remembered as "not revoked"); the cache holds at most `maxKeys` keys and is
 * cleared, not grown, past that.
 */
export class CachedDenylistReader implements DenylistReader {
  private readonly cache = new Map<string, { readonly until: number; readonly entry: DenylistEntry | undefined }>();

  constructor(
    private readonly inner: DenylistReader,
    private readonly ttlMs: number,
    private readonly nowMs: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  async read(keys: readonly string[]): Promise<ReadonlyMap<string, DenylistEntry>> {
    const now = this.nowMs();
    const cached = new Map<string, DenylistEntry>();
    let fresh = true;
    for (const key of keys) {
      const hit = this.cache.get(key);
      if (hit === undefined || hit.until <= now) {
        fresh = false;
        break;
      }
      if (hit.entry !== undefined) cached.set(key, hit.entry);
    }
    if (fresh) return cached;
    const entries = await this.inner.read(keys);
    if (this.cache.size + keys.length > this.maxKeys) this.cache.clear();
    const until = now + this.ttlMs;
    for (const key of keys) this.cache.set(key, { until, entry: entries.get(key) });
    return entries;
  }
}
