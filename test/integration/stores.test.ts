/**
 * The DynamoDB adapters against DynamoDB Local through the real SDK client, and the KMS signer
 * against the KMS stand-in: the conditions, races and expiries the domain relies on.
 */
import { randomBytes, randomUUID, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError, TooManyRequestsError } from '../../lambdas/core/errors.ts';
import { CountingLoginThrottle, DEVICE_TRUST_MS, WINDOW_MS } from '../../lambdas/core/login-throttle.ts';
import { login, type LoginDeps } from '../../lambdas/core/login.ts';
import { activeUser, CONFIG, fakePasswords, fakeSessions, fakeSigner, fakeUsers, noSecondFactors, type CallLog } from '../unit/core/fakes.ts';
import type { NewFamily, Rotation } from '../../lambdas/core/ports.ts';
import { hashBearerToken } from '../../lambdas/core/token-hash.ts';
import { mintRefreshToken, parseRefreshToken } from '../../lambdas/core/refresh-token.ts';
import { DynamoDbSessionStore } from '../../lambdas/adapters/dynamodb/session-store.ts';
import { DynamoDbThrottleCounters } from '../../lambdas/adapters/dynamodb/throttle-counters.ts';
import { DynamoDbTrustedDevices } from '../../lambdas/adapters/dynamodb/trusted-devices.ts';
import { DynamoDbUserDirectory } from '../../lambdas/adapters/dynamodb/user-directory.ts';
import { KmsSigner } from '../../lambdas/adapters/kms/signer.ts';
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

/** The family key and the login token of each family made here, by family id. */
const FAMILY_KEY = new Uint8Array(32).fill(0x5a);

function newFamily(overrides: Partial<NewFamily> = {}): NewFamily {
  const t = now();
  return {
    sub: randomUUID(),
    fid: randomBytes(16).toString('base64url'),
    tokenKey: FAMILY_KEY,
    amr: ['pwd'],
    sid: randomBytes(16).toString('base64url'),
    username: 'alice',
    scope: 'read',
    clientId: 'test',
    authTime: t,
    expiresAt: t + 600,
    absoluteExpiresAt: t + 3600,
    generation: 0,
    tokenHash: hashBearerToken(randomBytes(32).toString('base64url')),
    ...overrides,
  };
}

/**
 * A rotation presenting a generation-0 token of `family` (a real, tagged token body; the stored
 * hashes here are random) without a grace period, so a superseded token is reuse at once.
 */
function rotationOf(family: NewFamily, presentedHash = family.tokenHash): Rotation {
  const presented = parseRefreshToken(mintRefreshToken(family.sub, family.fid, 0, FAMILY_KEY, (n) => randomBytes(n)).token);
  if (presented === undefined) throw new Error('unparsable');
  return {
    sub: family.sub,
    fid: family.fid,
    presented,
    presentedHash,
    nextHash: hashBearerToken(randomBytes(32).toString('base64url')),
    nextSealed: randomBytes(60).toString('base64url'),
    nowSeconds: now(),
    nextExpiresAt: now() + 600,
    graceSeconds: 0,
  };
}

const revocation = (nowMs = Date.now()) => {
  const nowSeconds = Math.floor(nowMs / 1000);
  return { reason: 'logout' as const, nowMs, nowSeconds, denyUntil: nowSeconds + 960, userDenyUntil: nowSeconds + 9000 };
};
/** The user's revocation item, read strongly consistent. */
const revocationItemOf = async (sub: string) =>
  (await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `DENY#SUB#${sub}` }, sk: { S: 'DENY' } }, ConsistentRead: true }))).Item;
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
    // The family handed on to the core carries no token hash (the handler logs parts of it).
    expect(JSON.stringify(result)).not.toMatch(/Hash/);
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
    // Past its absolute lifetime, with the item still there: the store writes ttl = absoluteExpiresAt,
    // and DynamoDB Local's TTL sweep may delete an item whose ttl has passed at any moment, so the
    // attribute is moved into the past behind the store's back, leaving ttl in the future.
    const pastAbsolute = newFamily();
    await sessions.createFamily(pastAbsolute, loginNow());
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `SUB#${pastAbsolute.sub}` }, sk: { S: `FAMILY#${pastAbsolute.fid}` } },
        UpdateExpression: 'SET absoluteExpiresAt = :past',
        ExpressionAttributeValues: { ':past': { N: String(now() - 1) } },
      }),
    );
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

  it('revokes a family and adds its sid to the user\'s revocation item; a revoked family is inactive', async () => {
    const family = newFamily();
    await sessions.createFamily(family, loginNow());
    expect(await sessions.revokeFamily(family.sub, family.fid, revocation())).toBe(true);
    expect((await sessions.rotate(rotationOf(family))).outcome).toBe('inactive');
    const item = await revocationItemOf(family.sub);
    const until = Number(item?.['sids']?.M?.[family.sid]?.N);
    expect(until).toBeGreaterThan(now());
    expect(Number(item?.['ttl']?.N)).toBeGreaterThanOrEqual(until);
  });

  it('lands every one of 30 concurrent session revocations of one user in the one item', async () => {
    const sub = randomUUID();
    const families = Array.from({ length: 30 }, () => newFamily({ sub }));
    for (const family of families) await sessions.createFamily(family, loginNow());
    const results = await Promise.all(families.map((family) => sessions.revokeFamily(sub, family.fid, revocation())));
    expect(results.every(Boolean)).toBe(true);
    const item = await revocationItemOf(sub);
    expect(Object.keys(item?.['sids']?.M ?? {}).sort()).toEqual(families.map((f) => f.sid).sort());
  });

  it('never moves notBefore backwards when concurrent logouts land out of order', async () => {
    const sub = randomUUID();
    const base = Date.now() - 20_000;
    // 12 logouts one second apart, written all at once in shuffled order.
    const instants = Array.from({ length: 12 }, (_, i) => base + i * 1000).sort(() => Math.random() - 0.5);
    await Promise.all(instants.map((atMs) => sessions.revokeAllFamilies(sub, { ...revocation(atMs), reason: 'logout_all' })));
    const item = await revocationItemOf(sub);
    expect(Number(item?.['notBeforeMs']?.N)).toBe(base + 11_000);
    expect(Number(item?.['notBefore']?.N)).toBe(Math.floor((base + 11_000) / 1000));
  });

  it('lets a login through when the user\'s item holds only revoked sessions, no logout everywhere', async () => {
    const sub = randomUUID();
    const first = newFamily({ sub });
    await sessions.createFamily(first, loginNow());
    await sessions.revokeFamily(sub, first.fid, revocation());
    expect(await sessions.createFamily(newFamily({ sub, authTime: now() }), loginNow())).toEqual({ outcome: 'created' });
  });

  it('takes over a logout entry written by the previous release (no version) and keeps its logout', async () => {
    const sub = randomUUID();
    const t = now();
    await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: `DENY#SUB#${sub}` }, sk: { S: 'DENY' }, notBefore: { N: String(t - 5) }, notBeforeMs: { N: String((t - 5) * 1000) }, expiresAt: { N: String(t + 9999) }, ttl: { N: String(t + 9999) } },
      }),
    );
    const family = newFamily({ sub, authTime: t });
    await sessions.createFamily(family, loginNow());
    await sessions.revokeFamily(sub, family.fid, revocation());
    const item = await revocationItemOf(sub);
    expect(item?.['notBefore']?.N).toBe(String(t - 5));
    expect(item?.['expiresAt']?.N).toBe(String(t + 9999));
    expect(item?.['sids']?.M?.[family.sid]).toBeDefined();
    expect(item?.['version']?.N).toBe('1');
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
    expect(await users.replacePasswordHash(user.username, 'not-old', 'new')).toBe(false);
    expect((await users.findUser(user.username))?.passwordHash).toBe('old');
    expect(await users.replacePasswordHash(user.username, 'old', 'new')).toBe(true);
    expect((await users.findUser(user.username))?.passwordHash).toBe('new');
  });
});

describe('login throttling against DynamoDB', () => {
  /** login() with the real throttle on DynamoDB Local and a password check that takes 50 ms. */
  function loginWithRealThrottle() {
    const calls: CallLog = [];
    const passwords = fakePasswords(calls);
    const slowVerify = passwords.verify.bind(passwords);
    let verifications = 0;
    const deps: LoginDeps = {
      config: CONFIG,
      secondFactors: noSecondFactors(),
      signer: fakeSigner(calls),
      sessions: fakeSessions(calls),
      users: fakeUsers(calls, [activeUser()]),
      passwords: {
        ...passwords,
        verify: async (phc: string, password: string) => {
          verifications += 1;
          await new Promise((resolve) => setTimeout(resolve, 50));
          return slowVerify(phc, password);
        },
      },
      throttle: newThrottle(),
      clock: { nowMs: () => Date.now(), sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)) },
      random: { bytes: (n: number) => randomBytes(n) },
    };
    return { deps, verifications: () => verifications };
  }

  it('evaluates at most 5 of 40 concurrent wrong passwords for one username+IP; the other 35 are refused with 429 before the hash', async () => {
    const { deps, verifications } = loginWithRealThrottle();
    const sourceIp = `198.51.100.${20 + Math.floor(Math.random() * 200)}`;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, () => login({ username: 'alice', password: 'wrong', sourceIp }, deps)),
    );
    const reasons = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).constructor.name : 'fulfilled'));
    expect(reasons.filter((r) => r === 'InvalidGrantError').length).toBeLessThanOrEqual(5);
    expect(reasons.filter((r) => r === 'TooManyRequestsError').length).toBeGreaterThanOrEqual(35);
    expect(verifications()).toBeLessThanOrEqual(5);
  });
});


const newThrottle = () =>
  new CountingLoginThrottle(new DynamoDbThrottleCounters(client, TABLE), new DynamoDbTrustedDevices(client, TABLE), {
    bytes: (n: number) => randomBytes(n),
  });

const refusal = (error: unknown): number => {
  expect(error).toBeInstanceOf(TooManyRequestsError);
  return (error as TooManyRequestsError).retryAfterSeconds ?? 0;
};

describe('login throttle counters against DynamoDB: count first, atomically', () => {
  const freshKey = () => ({ username: `u-${randomUUID()}`, sourceIp: `2001:db8::${randomBytes(2).toString('hex')}` });

  it('counts a burst of 40 concurrent attempts on a fresh username+IP: exactly 5 admitted, 35 refused with Retry-After', async () => {
    const throttle = newThrottle();
    const key = freshKey();
    const t = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, () => throttle.admit(key, t)));
    const admitted = outcomes.filter((o) => o.status === 'fulfilled');
    expect(admitted).toHaveLength(5);
    for (const o of outcomes) if (o.status === 'rejected') expect(refusal(o.reason)).toBeGreaterThanOrEqual(1);
    const counts = await new DynamoDbThrottleCounters(client, TABLE).read(key);
    // Refused attempts hold no place: the counters say exactly what was let through.
    expect([counts.user_ip?.attempts, counts.user?.attempts, counts.ip?.attempts]).toEqual([5, 5, 5]);
  });

  it('lets exactly one of 20 concurrent attempts take the slot a passed delay opens', async () => {
    const throttle = newThrottle();
    const key = freshKey();
    const t = Date.now();
    for (let i = 0; i < 5; i += 1) await throttle.admit(key, t);
    await expect(throttle.admit(key, t + 500)).rejects.toBeInstanceOf(TooManyRequestsError);
    // 1 s after the 5th attempt the lockout (1 s) has passed: one more attempt, then 2 s.
    const later = t + 1_000;
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => throttle.admit(key, later)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((await new DynamoDbThrottleCounters(client, TABLE).read(key)).user_ip?.attempts).toBe(6);
  });

  it('refuses the same user from the same address, not from another address, and forgets after the window', async () => {
    const throttle = newThrottle();
    const key = freshKey();
    const t = Date.now();
    for (let i = 0; i < 5; i += 1) await throttle.admit(key, t);
    expect(refusal(await throttle.admit(key, t + 10).catch((e: unknown) => e))).toBe(1);
    await expect(throttle.admit({ ...key, sourceIp: '203.0.113.9' }, t + 10)).resolves.toEqual({ via: 'limits' });
    await expect(throttle.admit(key, t + WINDOW_MS + 1)).resolves.toEqual({ via: 'limits' });
    expect((await new DynamoDbThrottleCounters(client, TABLE).read(key)).user_ip?.attempts).toBe(1);
  });

  it('a correct password takes its attempt back: username+IP cleared, username and IP counters one lower', async () => {
    const throttle = newThrottle();
    const counters = new DynamoDbThrottleCounters(client, TABLE);
    const key = freshKey();
    const t = Date.now();
    for (let i = 0; i < 3; i += 1) await throttle.admit(key, t);
    const admission = await throttle.admit(key, t);
    const token = await throttle.passed(key, admission, t);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const counts = await counters.read(key);
    expect(counts.user_ip).toBeUndefined();
    expect([counts.user?.attempts, counts.ip?.attempts]).toEqual([3, 3]);
  });

  it('takes back the per-address counts of an attempt that the username-wide counter refused', async () => {
    const throttle = newThrottle();
    const counters = new DynamoDbThrottleCounters(client, TABLE);
    const username = `u-${randomUUID()}`;
    const t = Date.now();
    // 20 attempts from 4 addresses fill the username-wide counter.
    for (let a = 0; a < 4; a += 1) for (let i = 0; i < 5; i += 1) await throttle.admit({ username, sourceIp: `192.0.2.${a}` }, t);
    const key = { username, sourceIp: '192.0.2.99' };
    await expect(throttle.admit(key, t)).rejects.toBeInstanceOf(TooManyRequestsError);
    const counts = await counters.read(key);
    expect([counts.user_ip?.attempts ?? 0, counts.ip?.attempts ?? 0, counts.user?.attempts]).toEqual([0, 0, 20]);
  });
});

describe('trusted devices against DynamoDB', () => {
  async function trustedDevice(username: string, nowMs: number) {
    const throttle = newThrottle();
    const sourceIp = '198.51.100.50';
    const token = await throttle.passed({ username, sourceIp }, await throttle.admit({ username, sourceIp }, nowMs), nowMs);
    return { throttle, token };
  }

  it('stores only the SHA-256 of the device token, bound to the user, with a TTL', async () => {
    const username = `u-${randomUUID()}`;
    const t = Date.now();
    const { token } = await trustedDevice(username, t);
    const { Item } = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: `DEVICE#${hashBearerToken(token)}` }, sk: { S: 'DEVICE' } } }));
    expect(Item?.['username']?.S).toBe(username);
    expect(Number(Item?.['ttl']?.N)).toBe(Math.ceil((t + DEVICE_TRUST_MS) / 1000));
    expect(JSON.stringify(Item)).not.toContain(token);
  });

  it('admits a trusted device without touching the counters, even while they refuse everyone else', async () => {
    const username = `u-${randomUUID()}`;
    const t = Date.now();
    const { throttle, token } = await trustedDevice(username, t);
    const key = { username, sourceIp: '198.51.100.51' };
    for (let i = 0; i < 5; i += 1) await throttle.admit(key, t);
    await expect(throttle.admit(key, t)).rejects.toBeInstanceOf(TooManyRequestsError);
    const admission = await throttle.admit({ ...key, deviceToken: token }, t);
    expect(admission).toMatchObject({ via: 'device' });
    expect((await new DynamoDbThrottleCounters(client, TABLE).read(key)).user_ip?.attempts).toBe(5);
    // A correct password renews the same token.
    expect(await throttle.passed({ ...key, deviceToken: token }, admission, t)).toBe(token);
  });

  it('admits at most 5 of 30 concurrent attempts from one device; the rest are untrusted sources, under the strict limits', async () => {
    const username = `u-${randomUUID()}`;
    const t = Date.now();
    const { throttle, token } = await trustedDevice(username, t);
    const attempts = Array.from({ length: 30 }, (_, i) => throttle.admit({ username, sourceIp: `203.0.113.${i}`, deviceToken: token }, t));
    const outcomes = await Promise.allSettled(attempts);
    const via = outcomes.map((o) => (o.status === 'fulfilled' ? o.value.via : 'refused'));
    expect(via.filter((v) => v === 'device')).toHaveLength(5);
    // The other 25 came from 25 addresses: the username-wide counter let 20 through, refused 5.
    expect(via.filter((v) => v === 'limits')).toHaveLength(20);
    expect(via.filter((v) => v === 'refused')).toHaveLength(5);
    // The device is locked out: its next attempt is untrusted, and refused like any other.
    await expect(throttle.admit({ username, sourceIp: '203.0.113.200', deviceToken: token }, t)).rejects.toBeInstanceOf(TooManyRequestsError);
  });

  it('a correct password from the device gives it its 5 attempts back', async () => {
    const username = `u-${randomUUID()}`;
    const t = Date.now();
    const { throttle, token } = await trustedDevice(username, t);
    const attempt = { username, sourceIp: '203.0.113.1', deviceToken: token };
    for (let i = 0; i < 4; i += 1) expect((await throttle.admit(attempt, t)).via).toBe('device');
    const admission = await throttle.admit(attempt, t);
    await throttle.passed(attempt, admission, t);
    for (let i = 0; i < 5; i += 1) expect((await throttle.admit(attempt, t)).via).toBe('device');
    expect((await throttle.admit(attempt, t)).via).toBe('limits');
  });

  it('does not trust a device token for another user, an expired one, or an unknown one', async () => {
    const username = `u-${randomUUID()}`;
    const t = Date.now();
    const { throttle, token } = await trustedDevice(username, t);
    const at = (who: string, deviceToken: string, when = t) => throttle.admit({ username: who, sourceIp: '203.0.113.77', deviceToken }, when);
    expect((await at(`other-${randomUUID()}`, token)).via).toBe('limits');
    expect((await at(username, token, t + DEVICE_TRUST_MS)).via).toBe('limits');
    expect((await at(username, randomBytes(32).toString('base64url'))).via).toBe('limits');
    expect((await at(username, token)).via).toBe('device');
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
