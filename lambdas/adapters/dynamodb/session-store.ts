/**
 * Refresh-token families in DynamoDB. Item: pk `SUB#<sub>`, sk `FAMILY#<fid>` (one partition per
 * user, so logout-everywhere is a strongly consistent Query, not an eventually consistent index).
 * Attributes: sid, username, scope, clientId, tokenKey (the family's refresh-token tag key,
 * base64url), currentHash, prevHash, nextSealed (the current token's secret sealed under the
 * previous token, for retries within the grace period), generation, authTime, expiresAt (sliding),
 * prevExpiresAt, rotatedAt, absoluteExpiresAt, revokedAt?, revokeReason?, amr (RFC 8176 methods), ttl.
 * `ttl` = absoluteExpiresAt: DynamoDB deletes the item eventually (TTL deletes lag, "Using time to
 * live" in the DynamoDB Developer Guide), and every condition re-checks the expiry itself.
 */
import {
  GetItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DependencyUnavailableError, RetryableConflictError } from '../../core/errors.ts';
import type {
  FamilyCreation,
  FamilyCreationCheck,
  NewFamily,
  RefreshFamily,
  Rotation,
  RotationResult,
  SessionRevocation,
  SessionStore,
} from '../../core/ports.ts';
import { isFamilyActive, refusedRotation, toRefreshFamily, type StoredFamily } from '../../core/refresh-classification.ts';
import { decodeCanonical, encode } from '../../core/base64url.ts';
import { TOKEN_KEY_BYTES } from '../../core/refresh-token.ts';
import { DENYLIST_SK, revocationKey } from '../../core/token-model.ts';
import { DynamoDbRevocations } from './denylist.ts';
import { cancellationCodes, cancellationItem, conditional, dynamo } from './errors.ts';
import { queryAll } from './query-all.ts';
import { N, S, num, str, strList, strListValue, type Item } from './items.ts';

const familyKey = (sub: string, fid: string): Item => ({ pk: S(`SUB#${sub}`), sk: S(`FAMILY#${fid}`) });

/** Reads a family item (`unknown` until narrowed); `undefined` when it is absent or malformed. */
function toFamily(item: Item | undefined): StoredFamily | undefined {
  const pk = str(item, 'pk');
  const sk = str(item, 'sk');
  const fields = {
    sid: str(item, 'sid'),
    username: str(item, 'username'),
    scope: str(item, 'scope'),
    clientId: str(item, 'clientId'),
    currentHash: str(item, 'currentHash'),
    tokenKey: str(item, 'tokenKey'),
    authTime: num(item, 'authTime'),
    expiresAt: num(item, 'expiresAt'),
    absoluteExpiresAt: num(item, 'absoluteExpiresAt'),
    generation: num(item, 'generation'),
  };
  if (pk === undefined || !pk.startsWith('SUB#') || sk === undefined || !sk.startsWith('FAMILY#')) return undefined;
  const { sid, username, scope, clientId, currentHash, authTime, expiresAt, absoluteExpiresAt, generation } = fields;
  const tokenKey = fields.tokenKey === undefined ? undefined : decodeCanonical(fields.tokenKey);
  if (
    sid === undefined || username === undefined || scope === undefined || clientId === undefined ||
    currentHash === undefined || tokenKey === undefined || tokenKey.length !== TOKEN_KEY_BYTES || authTime === undefined || expiresAt === undefined ||
    absoluteExpiresAt === undefined || generation === undefined
  ) {
    return undefined;
  }
  return {
    sub: pk.slice('SUB#'.length),
    fid: sk.slice('FAMILY#'.length),
    sid, username, scope, clientId, currentHash, tokenKey, authTime, expiresAt, absoluteExpiresAt, generation,
    prevHash: str(item, 'prevHash'),
    nextSealed: str(item, 'nextSealed'),
    supersededAt: num(item, 'rotatedAt'),
    rotatedAt: num(item, 'rotatedAt'),
    revokedAt: num(item, 'revokedAt'),
    // Families stored before `amr` was kept were all password logins.
    amr: strList(item, 'amr') ?? ['pwd'],
  };
}

export class DynamoDbSessionStore implements SessionStore {
  private readonly revocations: DynamoDbRevocations;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    nowMs: () => number = Date.now,
  ) {
    this.revocations = new DynamoDbRevocations(client, tableName, nowMs);
  }

  async createFamily(family: NewFamily, check: FamilyCreationCheck): Promise<FamilyCreation> {
    const userDeny = revocationKey(family.sub);
    try {
      await this.client.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              // Login racing logout-everywhere (the rule is in core/login.ts): the family is
              // stored only if no unexpired logout happened while this login ran, nor in or after
              // its auth_time second. Transactions are serializable ("Amazon DynamoDB
              // Transactions: How it works"), so either the logout's entry is visible here, or
              // this family exists before the logout's Query and gets revoked by it. Entries
              // written before `notBeforeMs` existed count as the last millisecond of their second.
              // The item also holds revoked sessions and tokens (core/denylist-policy.ts), so
              // "no logout" is a missing `notBefore`, not a missing item.
              ConditionCheck: {
                TableName: this.tableName,
                Key: { pk: S(userDeny), sk: S(DENYLIST_SK) },
                ConditionExpression:
                  'attribute_not_exists(notBefore) OR expiresAt <= :now OR (notBefore < :authTime AND ' +
                  '(notBeforeMs < :startedMs OR (attribute_not_exists(notBeforeMs) AND notBefore < :startedSecond)))',
                ExpressionAttributeValues: {
                  ':authTime': N(family.authTime),
                  ':now': N(check.nowSeconds),
                  ':startedMs': N(check.loginStartedMs),
                  ':startedSecond': N(Math.floor(check.loginStartedMs / 1000)),
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...familyKey(family.sub, family.fid),
                  sid: S(family.sid),
                  username: S(family.username),
                  scope: S(family.scope),
                  clientId: S(family.clientId),
                  currentHash: S(family.tokenHash),
                  tokenKey: S(encode(family.tokenKey)),
                  generation: N(family.generation),
                  authTime: N(family.authTime),
                  amr: strListValue(family.amr),
                  createdAt: N(family.authTime),
                  expiresAt: N(family.expiresAt),
                  absoluteExpiresAt: N(family.absoluteExpiresAt),
                  ttl: N(family.absoluteExpiresAt),
                  ...(family.amr === undefined ? {} : { amr: strListValue(family.amr) }),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    } catch (error) {
      const codes = cancellationCodes(error);
      if (codes?.[0] === 'ConditionalCheckFailed') {
        const entry = cancellationItem(error, 0) as Item | undefined;
        const atSeconds = num(entry, 'notBefore');
        if (atSeconds !== undefined) {
          return { outcome: 'logged_out_everywhere', atSeconds, atMs: num(entry, 'notBeforeMs') ?? atSeconds * 1000 + 999 };
        }
      }
      // A concurrent write to the item or the family (a logout or another revocation under way),
      // or an item we cannot read: a true race, which the revocation wins.
      if (codes !== undefined && codes.some((code) => code === 'ConditionalCheckFailed' || code === 'TransactionConflict')) {
        throw new RetryableConflictError('The user logged out everywhere while this login ran; log in again.', error);
      }
      throw new DependencyUnavailableError('DynamoDB', error);
    }
    return { outcome: 'created' };
  }

  async rotate(rotation: Rotation): Promise<RotationResult> {
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: familyKey(rotation.sub, rotation.fid),
          // Right-hand sides read the values before the update, so prev* keep what undo needs. The
          // condition is the core's "current" class (`core/refresh-classification.ts`) in DynamoDB's words.
          UpdateExpression:
            'SET currentHash = :next, prevHash = currentHash, nextSealed = :sealed, prevExpiresAt = expiresAt, expiresAt = :exp, ' +
            'generation = generation + :one, rotatedAt = :now',
          ConditionExpression:
            'currentHash = :presented AND attribute_not_exists(revokedAt) AND expiresAt > :now AND absoluteExpiresAt > :now',
          ExpressionAttributeValues: {
            ':next': S(rotation.nextHash),
            ':sealed': S(rotation.nextSealed),
            ':presented': S(rotation.presentedHash),
            ':exp': N(rotation.nextExpiresAt),
            ':now': N(rotation.nowSeconds),
            ':one': N(1),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    if (result.ok) {
      const family = toFamily(result.value.Attributes);
      if (family === undefined) throw new DependencyUnavailableError('DynamoDB', new Error('Malformed family item.'));
      return { outcome: 'rotated', family: toRefreshFamily(family), tokenKey: family.tokenKey };
    }
    // What the refusal means (unknown, inactive, our own retry, reuse) is the core's rule.
    return refusedRotation(toFamily(result.oldItem as Item | undefined), rotation);
  }

  async undoRotation(rotation: Rotation): Promise<void> {
    await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: familyKey(rotation.sub, rotation.fid),
          UpdateExpression: 'SET currentHash = prevHash, expiresAt = prevExpiresAt, generation = generation - :one REMOVE prevHash, prevExpiresAt, nextSealed',
          ConditionExpression: 'currentHash = :next AND prevHash = :presented',
          ExpressionAttributeValues: { ':next': S(rotation.nextHash), ':presented': S(rotation.presentedHash), ':one': N(1) },
        }),
      ),
    );
  }

  async familyTokenKey(sub: string, fid: string): Promise<Uint8Array | undefined> {
    const result = await dynamo(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: familyKey(sub, fid), ConsistentRead: true })),
    );
    return result.Item === undefined ? undefined : toFamily(result.Item)?.tokenKey;
  }

  async revokeFamily(sub: string, fid: string, revocation: SessionRevocation, onlyIfHash?: string): Promise<boolean> {
    const values: Item = { ':now': N(revocation.nowSeconds), ':reason': S(revocation.reason) };
    let condition = 'attribute_exists(pk)';
    if (onlyIfHash !== undefined) {
      condition += ' AND currentHash = :hash';
      values[':hash'] = S(onlyIfHash);
    }
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: familyKey(sub, fid),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now), revokeReason = if_not_exists(revokeReason, :reason)',
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    if (!result.ok) return false;
    const before = toFamily(result.value.Attributes);
    if (before === undefined) return false;
    // Written even when the family was already revoked: a retry after a failure between the two
    // writes completes the revocation (both writes are idempotent).
    await this.denySession(sub, before.sid, revocation);
    return isFamilyActive(before, revocation.nowSeconds);
  }

  async endSession(sub: string, family: Pick<RefreshFamily, 'fid' | 'sid'>, revocation: SessionRevocation): Promise<boolean> {
    await this.denySession(sub, family.sid, revocation);
    const result = await conditional(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: familyKey(sub, family.fid),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now), revokeReason = if_not_exists(revokeReason, :reason)',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': N(revocation.nowSeconds), ':reason': S(revocation.reason) },
          ReturnValues: 'ALL_OLD',
        }),
      ),
    );
    const before = result.ok ? toFamily(result.value.Attributes) : undefined;
    return before !== undefined && isFamilyActive(before, revocation.nowSeconds);
  }

  async revokeAllFamilies(sub: string, revocation: SessionRevocation): Promise<number> {
    // First the user's logout, so every access token already issued stops at once; then each
    // family, so none can be refreshed. If a family update fails the caller gets 503 and retries;
    // until then the logout denies whatever that family could mint (auth_time <= notBefore).
    // `notBeforeMs` is the same instant in milliseconds: a login that began after it may proceed
    // (see createFamily); the authorizer compares whole seconds.
    await this.revocations.apply(sub, {
      kind: 'user',
      atSeconds: revocation.nowSeconds,
      atMs: revocation.nowMs,
      until: revocation.userDenyUntil,
      reason: revocation.reason,
    });
    // Only the sessions that began by the logout's second: the ones whose tokens the entry denies
    // (auth_time <= notBefore). A family with a later auth_time belongs to a login that began after
    // this logout (core/login.ts) and landed before this Query; ending it here would leave its
    // access tokens valid and its refresh token dead.
    const families = (await this.listFamilies(sub, revocation.nowSeconds)).filter((family) => family.authTime <= revocation.nowSeconds);
    await Promise.all(
      families.map((family) =>
        conditional(() =>
          this.client.send(
            new UpdateItemCommand({
              TableName: this.tableName,
              Key: familyKey(sub, family.fid),
              UpdateExpression: 'SET revokedAt = :now, revokeReason = :reason',
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(revokedAt)',
              ExpressionAttributeValues: { ':now': N(revocation.nowSeconds), ':reason': S(revocation.reason) },
            }),
          ),
        ),
      ),
    );
    return families.length;
  }

  async listFamilies(sub: string, nowSeconds: number): Promise<readonly RefreshFamily[]> {
    const items = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :family)',
      ExpressionAttributeValues: { ':pk': S(`SUB#${sub}`), ':family': S('FAMILY#') },
      ConsistentRead: true,
    });
    return items.map(toFamily).filter((family): family is StoredFamily => family !== undefined && isFamilyActive(family, nowSeconds));
  }

  private denySession(sub: string, sid: string, revocation: SessionRevocation): Promise<void> {
    return this.revocations.apply(sub, { kind: 'session', sid, until: revocation.denyUntil });
  }
}
