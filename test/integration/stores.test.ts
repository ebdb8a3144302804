/**
 * The DynamoDB adapters against DynamoDB Local through the real SDK client, and the KMS signer
 * against the KMS stand-in: the conditions, races and expiries the domain relies on.
 */
import { randomBytes, randomUUID, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, TooManyRequestsError } from '../../lambdas/core/errors.ts';
import { CountingLoginThrottle } from '../../lambdas/core/login-throttle.ts';
import type { NewFamily, Rotation } from '../../lambdas/core/ports.ts';
import { hashRefreshToken } from '../../lambdas/core/refresh-token.ts';
import { DynamoDbSessionStore } from '../../lambdas/adapters/dynamodb-session-store.ts';
import { DynamoDbThrottleCounters } from '../../lambdas/adapters/dynamodb-throttle-counters.ts';
import { DynamoDbUserDirectory } from '../../lambdas/adapters/dynamodb-user-directory.ts';
import { KmsSigner } from '../../lambdas/adapters/kms-signer.ts';
import { loadPublicKey } from '../../lambdas/adapters/kms/public-key-loader.ts';
import { sdkGetPublicKey } from '../../lambdas/adapters/kms/sdk-get-public-key.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local.ts';
import { startKmsStandin, type KmsStandin } from '../../local/kms-standin/server.ts';
import { createServiceTable } from '../../local/table.ts';

const TABLE = 'stores-test';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let ddbLocal: DynamoDbLocal;
let kmsLocal: KmsStandin;
let client: DynamoDBClient;
let sessions: DynamoDbSessionStore;

const now = () => Math.floor(Date.now() / 1000);

function newFamily(overrides: Partial<NewFamily> = {}): NewFamily {
  const t = now();
  return {
    sub: randomUUID(),
    fid: randomBytes(16).toString('base64url'),
    sid: randomBytes(16).toString('base64url'),
    username: 'alice',
    scope: 'read',
    clientId: 'test',
    authTime: t,
    expiresAt: t + 600,
    absoluteExpiresAt: t + 3600,
    generation: 0,
    tokenHash: hashRefreshToken(randomBytes(32).toString('base64url')),
    ...overrides,
  };
}

function rotationOf(family: NewFamily, presentedHash = family.tokenHash): Rotation {
  return {
    sub: family.sub,
    fid: family.fid,
    presentedHash,
    nextHash: hashRefreshToken(randomBytes(32).toString('base64url')),
    nowSeconds: now(),
    nextExpiresAt: now() + 600,
  };
}

const revocation = (nowMs = Date.now()) => {
  const nowSeconds = Math.floor(nowMs / 1000);
  return { reason: 'logout' as const, nowMs, nowSeconds, denyUntil: nowSeconds + 960, userDenyUntil: nowSeconds + 9000 };
};
/** The check of a login that begins now. */
const loginNow = (loginStartedMs = Date.now()) => ({ nowSeconds: Math.floor(loginStartedMs / 1000), loginStartedMs });

beforeAll(async () => {
  [ddbLocal, kmsLocal] = await Promise.all([startDynamoDbLocal(), startKmsStandin()]);
  client = new DynamoDBClient({ endpoint: ddbLocal.endpoint, region: 'us-east-1', credentials });
  await createServiceTable(client, TABLE);
  sessions = new DynamoDbSessionStore(client, TABLE);
});

afterAll(async () => {
  await Promise.allSettled([ddbLocal?.stop(), kmsLocal?.close()]);
});

describe('DynamoDbSessionStore', () => {
  it('rotates the current token and returns the family with the next generation', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    const result = await sessions.rotate(rotationOf(family));
    expect(result.outcome).toBe('rotated');
    if (result.outcome === 'rotated') expect(result.family).toMatchObject({ sid: family.sid, generation: 1, scope: 'read' });
  });

  it('reports a rotated-out token as reuse, with the family to revoke', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    expect((await sessions.rotate(rotationOf(family))).outcome).toBe('rotated');
    const again = await sessions.rotate(rotationOf(family));
    expect(again.outcome).toBe('reused');
    if (again.outcome === 'reused') expect(again.family.sid).toBe(family.sid);
  });

  it('treats a repeat of the very same rotation (an SDK retry after a lost response) as done, not as reuse', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    const rotation = rotationOf(family);
    expect((await sessions.rotate(rotation)).outcome).toBe('rotated');
    const retried = await sessions.rotate(rotation);
    expect(retried.outcome).toBe('rotated');
    if (retried.outcome === 'rotated') expect(retried.family.generation).toBe(1);
    // Anyone else presenting the rotated-out token is still reuse.
    expect((await sessions.rotate(rotationOf(family))).outcome).toBe('reused');
  });

  it('lets exactly one of 25 concurrent rotations of one token win; the family does not fork', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    const results = await Promise.all(Array.from({ length: 25 }, () => sessions.rotate(rotationOf(family))));
    expect(results.filter((r) => r.outcome === 'rotated')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'reused')).toHaveLength(24);
    const item = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `SUB#${family.sub}` }, sk: { S: `FAMILY#${family.fid}` } }, ConsistentRead: true }),
    );
    expect(item.Item?.['generation']?.N).toBe('1');
  });

  it('calls an unknown family unknown, and changes nothing', async () => {
    const family = newFamily();
    expect((await sessions.rotate(rotationOf(family))).outcome).toBe('unknown');
  });

  it('treats an expired family as inactive although DynamoDB has not deleted it yet', async () => {
    const family = newFamily({ expiresAt: now() - 1 });
    await sessions.createFamily(family, loginNow());
    expect((await sessions.rotate(rotationOf(family))).outcome).toBe('inactive');
    const pastAbsolute = newFamily({ absoluteExpiresAt: now() - 1 });
    await sessions.createFamily(pastAbsolute, loginNow());
    expect((await sessions.rotate(rotationOf(pastAbsolute))).outcome).toBe('inactive');
  });

  it('undoes a rotation so the presented token is current again', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    const rotation = rotationOf(family);
    expect((await sessions.rotate(rotation)).outcome).toBe('rotated');
    await sessions.undoRotation(rotation);
    expect((await sessions.rotate(rotationOf(family))).outcome).toBe('rotated');
  });

  it('revokes a family and writes the session denylist entry; a revoked family is inactive', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    expect(await sessions.revokeFamily(family.sub, family.fid, revocation())).toBe(true);
    expect((await sessions.rotate(rotationOf(family))).outcome).toBe('inactive');
    const deny = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `DENY#SID#${family.sid}` }, sk: { S: 'DENY' } }, ConsistentRead: true }),
    );
    expect(Number(deny.Item?.['expiresAt']?.N)).toBeGreaterThan(now());
    expect(deny.Item?.['ttl']?.N).toBe(deny.Item?.['expiresAt']?.N);
  });

  it('revokes with a refresh token only when it is the current one', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    expect(await sessions.revokeFamily(family.sub, family.fid, revocation(), 'not-the-hash')).toBe(false);
    expect(await sessions.revokeFamily(family.sub, family.fid, revocation(), family.tokenHash)).toBe(true);
  });

  it('logout everywhere revokes every family of the user and no other user', async () => {
    const sub = randomUUID();
    const mine = [newFamily({ sub }), newFamily({ sub }), newFamily({ sub })];
    const theirs = newFamily();
    for (const f of [...mine, theirs]) await sessions.createFamily(f, loginNow());
    expect(await sessions.revokeAllFamilies(sub, revocation())).toBe(3);
    expect(await sessions.listFamilies(sub, now())).toHaveLength(0);
    expect(await sessions.listFamilies(theirs.sub, now())).toHaveLength(1);
  });

  it('logout everywhere ends only the sessions that began by its second, not one a later login started meanwhile', async () => {
    const sub = randomUUID();
    const atMs = Date.now();
    const atSeconds = Math.floor(atMs / 1000);
    const before = newFamily({ sub, authTime: atSeconds });
    // A login that began after the logout and landed before the logout's Query of the families.
    const after = newFamily({ sub, authTime: atSeconds + 1 });
    await sessions.createFamily(before, loginNow(atMs - 1));
    await sessions.createFamily(after, loginNow(atMs - 1));
    expect(await sessions.revokeAllFamilies(sub, { ...revocation(atMs), reason: 'logout_all' })).toBe(1);
    expect((await sessions.listFamilies(sub, now())).map((f) => f.fid)).toEqual([after.fid]);
  });

  describe('a login meeting a logout-everywhere of the same user', () => {
    /** A logout made at `atMs`, and the family of a login that began at `startedMs` with `authTime`. */
    async function scenario(offsetMs: number, authTimeOffset: number) {
      const sub = randomUUID();
      // Mid-second, so a few ms either way stay in the same second.
      const atMs = Math.floor(Date.now() / 1000) * 1000 + 500;
      await sessions.revokeAllFamilies(sub, { ...revocation(atMs), reason: 'logout_all' });
      const atSeconds = Math.floor(atMs / 1000);
      const family = newFamily({ sub, authTime: atSeconds + authTimeOffset });
      const outcome = await sessions.createFamily(family, loginNow(atMs + offsetMs));
      return { outcome, sub, atMs, atSeconds };
    }

    it('stores the family of a login that began after the logout, with auth_time in a later second', async () => {
      const { outcome, sub } = await scenario(+1, +1);
      expect(outcome).toEqual({ outcome: 'created' });
      expect(await sessions.listFamilies(sub, now())).toHaveLength(1);
    });

    it('stores nothing for a login that began after the logout in its very second while auth_time is that second, and names the logout to the millisecond', async () => {
      const { outcome, sub, atMs, atSeconds } = await scenario(+1, 0);
      expect(outcome).toEqual({ outcome: 'logged_out_everywhere', atMs, atSeconds });
      expect(await sessions.listFamilies(sub, now())).toHaveLength(0);
    });

    it.each([
      ['began 1 ms before the logout', -1],
      ['began at the very millisecond of the logout', 0],
      ['began seconds before the logout', -3_000],
    ])('stores nothing for a login that %s (a true race), whatever its auth_time', async (_name, offsetMs) => {
      const { outcome, sub, atMs, atSeconds } = await scenario(offsetMs, +1);
      expect(outcome).toEqual({ outcome: 'logged_out_everywhere', atMs, atSeconds });
      expect(await sessions.listFamilies(sub, now())).toHaveLength(0);
    });

    it('reads an entry written before milliseconds were stored as the last millisecond of its second', async () => {
      const sub = randomUUID();
      const atSeconds = now();
      await client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: `DENY#SUB#${sub}` }, sk: { S: 'DENY' }, notBefore: { N: String(atSeconds) }, expiresAt: { N: String(atSeconds + 600) } },
        }),
      );
      const sameSecond = await sessions.createFamily(newFamily({ sub, authTime: atSeconds + 1 }), loginNow(atSeconds * 1000 + 998));
      expect(sameSecond).toEqual({ outcome: 'logged_out_everywhere', atMs: atSeconds * 1000 + 999, atSeconds });
      const nextSecond = await sessions.createFamily(newFamily({ sub, authTime: atSeconds + 1 }), loginNow((atSeconds + 1) * 1000));
      expect(nextSecond).toEqual({ outcome: 'created' });
    });
  });

  it('ignores an expired logout-everywhere entry', async () => {
    const sub = randomUUID();
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: `DENY#SUB#${sub}` }, sk: { S: 'DENY' }, notBefore: { N: String(now() + 100) }, expiresAt: { N: String(now() - 1) } },
      }),
    );
    await expect(sessions.createFamily(newFamily({ sub }), loginNow())).resolves.toEqual({ outcome: 'created' });
  });

  it('turns an unreachable DynamoDB into DependencyUnavailableError', async () => {
    const dead = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials, maxAttempts: 1 });
    const store = new DynamoDbSessionStore(dead, TABLE);
    await expect(store.rotate(rotationOf(newFamily()))).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(store.createFamily(newFamily(), loginNow())).rejects.toBeInstanceOf(DependencyUnavailableError);
  });
});

describe('DynamoDbUserDirectory', () => {
  it('creates a user once, finds it, and refuses a duplicate', async () => {
    const users = new DynamoDbUserDirectory(client, TABLE);
    const user = { username: `u-${randomUUID()}`, sub: randomUUID(), passwordHash: '$argon2id$x', scopes: ['read'], status: 'active' as const };
    expect(await users.createUser(user, now())).toBe(true);
    expect(await users.createUser(user, now())).toBe(false);
    expect(await users.findUser(user.username)).toEqual(user);
    expect(await users.findUser('nobody')).toBeUndefined();
  });

  it('replaces a password hash only if it is still the expected one', async () => {
    const users = new DynamoDbUserDirectory(client, TABLE);
    const user = { username: `u-${randomUUID()}`, sub: randomUUID(), passwordHash: 'old', scopes: [], status: 'active' as const };
    await users.createUser(user, now());
    await users.replacePasswordHash(user.username, 'not-old', 'new');
    expect((await users.findUser(user.username))?.passwordHash).toBe('old');
    await users.replacePasswordHash(user.username, 'old', 'new');
    expect((await users.findUser(user.username))?.passwordHash).toBe('new');
  });
});

describe('login throttling against DynamoDB', () => {
  it('blocks a username+IP after 5 failures with a Retry-After, but not the same user from another IP', async () => {
    const throttle = new CountingLoginThrottle(new DynamoDbThrottleCounters(client, TABLE));
    const key = { username: `u-${randomUUID()}`, sourceIp: '198.51.100.7' };
    const t = Date.now();
    for (let i = 0; i < 5; i += 1) {
      await throttle.assertAllowed(key, t);
      await throttle.recordFailure(key, t);
    }
    const blocked = await throttle.assertAllowed(key, t + 10).catch((error: unknown) => error);
    expect(blocked).toBeInstanceOf(TooManyRequestsError);
    expect((blocked as TooManyRequestsError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await expect(throttle.assertAllowed({ ...key, sourceIp: '203.0.113.9' }, t + 10)).resolves.toBeDefined();
    // The window passes: the counter no longer counts, so the lock is not permanent.
    await expect(throttle.assertAllowed(key, t + 16 * 60_000)).resolves.toBeDefined();
  });

  it('counts every one of a burst of concurrent failures on a fresh counter (none overwrites another)', async () => {
    const counters = new DynamoDbThrottleCounters(client, TABLE);
    const key = { username: `u-${randomUUID()}`, sourceIp: '198.51.100.8' };
    const t = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => counters.addFailure(key, t, 15 * 60_000)));
    const counts = await counters.read(key);
    for (const kind of ['user_ip', 'user', 'ip'] as const) expect(counts[kind]?.failures, kind).toBe(20);
  });
});

describe('KmsSigner against the KMS stand-in', () => {
  const kmsClient = () => new KMSClient({ endpoint: kmsLocal.endpoint, region: 'us-east-1', credentials });

  it('signs ES256 as 64-byte R||S that verifies with the KMS public key, kid = RFC 7638 thumbprint', async () => {
    const key = await kmsLocal.createKey('ECC_NIST_P256');
    const signer = new KmsSigner(kmsClient(), key.arn, 'ES256');
    const input = Buffer.from('header.payload');
    const signature = await signer.sign(input);
    expect(signature).toHaveLength(64);
    const published = await loadPublicKey(sdkGetPublicKey(kmsClient()), key.arn);
    expect(cryptoVerify('sha256', input, { key: published.keyObject, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(await signer.kid()).toBe(published.kid);
  });

  it('signs RS256 with a 256-byte PKCS#1 v1.5 signature', async () => {
    const key = await kmsLocal.createKey('RSA_2048');
    const signer = new KmsSigner(kmsClient(), key.arn, 'RS256');
    const input = Buffer.from('header.payload');
    const signature = await signer.sign(input);
    expect(signature).toHaveLength(256);
    const published = await loadPublicKey(sdkGetPublicKey(kmsClient()), key.arn);
    expect(cryptoVerify('sha256', input, createPublicKey(published.keyObject.export({ format: 'pem', type: 'spki' })), signature)).toBe(true);
  });

  it('reads the public key once per container, not per signature', async () => {
    const key = await kmsLocal.createKey('ECC_NIST_P256');
    const signer = new KmsSigner(kmsClient(), key.arn, 'ES256');
    kmsLocal.resetCalls();
    for (let i = 0; i < 3; i += 1) await signer.kid();
    expect(kmsLocal.calls()['GetPublicKey']).toBe(1);
  });

  it('refuses a key whose spec does not match the configured algorithm', async () => {
    const key = await kmsLocal.createKey('RSA_2048');
    await expect(new KmsSigner(kmsClient(), key.arn, 'ES256').kid()).rejects.toThrow(/RS256/);
  });

  it('turns KMS throttling into DependencyUnavailableError', async () => {
    const key = await kmsLocal.createKey('ECC_NIST_P256');
    kmsLocal.injectFault({ errorType: 'ThrottlingException', status: 400, operations: ['Sign'], count: 5 });
    const signer = new KmsSigner(new KMSClient({ endpoint: kmsLocal.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }), key.arn, 'ES256');
    await expect(signer.sign(Buffer.from('x'))).rejects.toBeInstanceOf(DependencyUnavailableError);
    kmsLocal.clearFaults();
  });
});
