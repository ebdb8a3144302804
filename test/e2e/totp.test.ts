/**
 * The TOTP second factor over HTTP against the local service (the unchanged handlers, DynamoDB
 * Local behind a counting proxy, the KMS stand-in): enrolment, confirmation, the login's second
 * step, replay, concurrency, recovery codes, throttling, the mfa_token's binding and lifetime,
 * removal, the operator reset, outages. Codes are made with `otpauth` from the secret the
 * enrolment returned, as an authenticator app would.
 */
import { createHash } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { Secret, TOTP, URI } from 'otpauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as ops from '../../cli/operations.ts';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { expectWithinGrants, grantedActions, observeActions } from '../support/iam-grants.ts';
import { request, type Reply } from '../support/http-client.ts';

const PASSWORD = 'a long enough passphrase for totp tests';
let counted: CountedService;
let service: LocalService;
let dynamo: CountingProxy;
let userCount = 0;

beforeAll(async () => {
  counted = await startCountedService({ demoPassword: PASSWORD });
  ({ service, dynamo } = counted);
});

afterAll(async () => {
  await counted?.stop();
});

beforeEach(() => {
  dynamo.failWith(undefined);
  service.kms.clearFaults();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = (path: string, json: unknown, headers: Record<string, string> = {}) => request(service.url, 'POST', path, { json, headers });

/** The code of the time step `offset` steps from now, as an authenticator app shows it. */
function codeAt(secret: string, offset = 0): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: Date.now() + offset * 30_000 });
}

function claims(accessToken: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.from(String(accessToken).split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function passwordLogin(username: string, extra: Record<string, unknown> = {}): Promise<Reply> {
  return post('/login', { username, password: PASSWORD, ...extra });
}

async function accessTokenOf(username: string): Promise<string> {
  const reply = await passwordLogin(username);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return String(reply.body['access_token']);
}

/** A new user, signed in with the password only; `totp: true` enrols and confirms a factor (with the code of the previous step). */
async function newUser(options: { totp: boolean; scopes?: string[] } = { totp: false }) {
  userCount += 1;
  const username = `totp-user-${userCount}`;
  await ops.createUser(service.operatorDeps(), username, PASSWORD, options.scopes ?? ['read', 'write']);
  const accessToken = await accessTokenOf(username);
  if (!options.totp) return { username, accessToken, secret: '', recoveryCodes: [] as string[] };
  const enrol = await post('/mfa/totp/enroll', {}, bearer(accessToken));
  expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
  const secret = String(enrol.body['secret']);
  const confirm = await post('/mfa/totp/confirm', { otp: codeAt(secret, -1) }, bearer(accessToken));
  expect(confirm.status, JSON.stringify(confirm.body)).toBe(200);
  return { username, accessToken, secret, recoveryCodes: confirm.body['recovery_codes'] as string[] };
}

async function mfaToken(username: string, extra: Record<string, unknown> = {}): Promise<string> {
  const reply = await passwordLogin(username, extra);
  expect(reply.status, JSON.stringify(reply.body)).toBe(401);
  expect(reply.body['error']).toBe('mfa_required');
  return String(reply.body['mfa_token']);
}

const accountOf = (token: string) => request(service.url, 'GET', '/account', { headers: bearer(token) });

describe('enrolment and confirmation', () => {
  it('returns a base32 secret and an otpauth URI for SHA-1, 6 digits, 30 s, with the service as issuer', async () => {
    const { accessToken, username } = await newUser();
    const enrol = await post('/mfa/totp/enroll', {}, bearer(accessToken));
    expect(enrol.status).toBe(200);
    expect(enrol.headers.get('cache-control')).toBe('no-store');
    expect(String(enrol.body['secret'])).toMatch(/^[A-Z2-7]{32}$/);
    const parsed = URI.parse(String(enrol.body['otpauth_uri']));
    expect(parsed).toBeInstanceOf(TOTP);
    expect(parsed).toMatchObject({ issuer: 'kms-jwt-auth', label: username, algorithm: 'SHA1', digits: 6, period: 30 });
    expect(parsed.secret.base32).toBe(enrol.body['secret']);
    // Pending, not on until confirmed: login still needs the password only.
    expect((await accountOf(accessToken)).body['mfa']).toEqual({ totp: false });
    expect((await passwordLogin(username)).status).toBe(200);
  });

  it('refuses a wrong code (400, nothing changes), then confirms with a right one and returns ten distinct recovery codes', async () => {
    const { accessToken } = await newUser();
    const secret = String((await post('/mfa/totp/enroll', {}, bearer(accessToken))).body['secret']);
    const good = codeAt(secret);
    const wrong = good === '000000' ? '000001' : '000000';
    const refused = await post('/mfa/totp/confirm', { otp: wrong }, bearer(accessToken));
    expect(refused.status).toBe(400);
    expect(refused.body['error']).toBe('invalid_request');
    expect((await accountOf(accessToken)).body['mfa']).toEqual({ totp: false });
    const confirm = await post('/mfa/totp/confirm', { otp: good }, bearer(accessToken));
    expect(confirm.status).toBe(200);
    const codes = confirm.body['recovery_codes'] as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    expect((await accountOf(accessToken)).body['mfa']).toEqual({ totp: true });
  });

  it('refuses to enrol again while a factor is on, and to confirm without an enrolment', async () => {
    const { accessToken, secret } = await newUser({ totp: true });
    expect((await post('/mfa/totp/enroll', {}, bearer(accessToken))).status).toBe(400);
    expect((await post('/mfa/totp/confirm', { otp: codeAt(secret) }, bearer(accessToken))).status).toBe(400);
  });

  it('stores the secret sealed by KMS and the recovery codes hashed, never in clear', async () => {
    const { username, secret, recoveryCodes } = await newUser({ totp: true });
    const user = await service.operatorDeps().stores.users.findUser(username);
    const factor = await service.operatorDeps().stores.secondFactors.findTotp(user?.sub ?? '');
    expect(factor).toBeDefined();
    const raw = Buffer.from(Secret.fromBase32(secret).bytes);
    expect(Buffer.from(factor?.sealedSecret ?? []).includes(raw)).toBe(false);
    // The sealed secret opens only for its own user (the encryption context binds it).
    const { KMSClient, DecryptCommand } = await import('@aws-sdk/client-kms');
    const kms = new KMSClient({ endpoint: service.kms.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
    const open = (sub: string) => kms.send(new DecryptCommand({ CiphertextBlob: factor?.sealedSecret, EncryptionContext: { purpose: 'totp', sub } }));
    expect(Buffer.from((await open(user?.sub ?? '')).Plaintext ?? [])).toEqual(raw);
    await expect(open('another-user')).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    kms.destroy();
    const items = JSON.stringify(await dumpPartition(user?.sub ?? ''));
    for (const code of recoveryCodes) expect(items).not.toContain(code.replace(/-/g, ''));
    expect(items).not.toContain(secret);
  });
});

async function dumpPartition(sub: string) {
  const { QueryCommand } = await import('@aws-sdk/client-dynamodb');
  const out = await service.operatorDeps().stores.dynamo.send(
    new QueryCommand({ TableName: service.tableName, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `SUB#${sub}` } } }),
  );
  return out.Items ?? [];
}

describe('login with a second factor', () => {
  it('answers 401 mfa_required with an mfa_token and a description, and no token', async () => {
    const { username } = await newUser({ totp: true });
    const reply = await passwordLogin(username);
    expect(reply.status).toBe(401);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(reply.body).sort()).toEqual(['error', 'error_description', 'mfa_token']);
    expect(String(reply.body['mfa_token'])).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A wrong password is still the plain invalid_grant: no hint that the account has MFA.
    const wrong = await post('/login', { username, password: 'not the password at all' });
    expect(wrong.status).toBe(401);
    expect(wrong.body['error']).toBe('invalid_grant');
    expect(wrong.body).not.toHaveProperty('mfa_token');
  });

  it('completes with a valid code: tokens with amr pwd+otp+mfa and auth_time, kept across refresh', async () => {
    const { username, secret } = await newUser({ totp: true });
    const token = await mfaToken(username);
    const reply = await post('/login/mfa', { mfa_token: token, otp: codeAt(secret) });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toMatchObject({ token_type: 'Bearer', scope: 'read write' });
    expect(typeof reply.body['device_token']).toBe('string');
    const access = claims(reply.body['access_token']);
    expect(access['amr']).toEqual(['pwd', 'otp', 'mfa']);
    expect(typeof access['auth_time']).toBe('number');
    expect((await request(service.url, 'GET', '/whoami', { headers: bearer(String(reply.body['access_token'])) })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const refreshed = await post('/refresh', { refresh_token: reply.body['refresh_token'] });
    expect(refreshed.status).toBe(200);
    const after = claims(refreshed.body['access_token']);
    expect(after['amr']).toEqual(['pwd', 'otp', 'mfa']);
    expect(after['auth_time']).toBe(access['auth_time']);
    expect(after['iat']).not.toBe(access['iat']);
  });

  it('gives a password-only login amr ["pwd"]', async () => {
    const { accessToken } = await newUser();
    expect(claims(accessToken)['amr']).toEqual(['pwd']);
  });

  it('keeps the scope asked for at the password step', async () => {
    const { username, secret } = await newUser({ totp: true });
    const token = await mfaToken(username, { scope: 'read' });
    const reply = await post('/login/mfa', { mfa_token: token, otp: codeAt(secret) });
    expect(reply.status).toBe(200);
    expect(reply.body['scope']).toBe('read');
    expect(claims(reply.body['access_token'])['scope']).toBe('read');
  });

  it('refuses a code already accepted (replay within its window), and a code already used at confirmation', async () => {
    const { username, secret } = await newUser({ totp: true });
    // The confirmation used the previous step's code: it is spent.
    expect((await post('/login/mfa', { mfa_token: await mfaToken(username), otp: codeAt(secret, -1) })).status).toBe(401);
    const code = codeAt(secret, 1);
    expect((await post('/login/mfa', { mfa_token: await mfaToken(username), otp: code })).status).toBe(200);
    const replay = await post('/login/mfa', { mfa_token: await mfaToken(username), otp: code });
    expect(replay.status).toBe(401);
    expect(replay.body['error']).toBe('invalid_grant');
    // An earlier step than the last accepted one is refused too.
    expect((await post('/login/mfa', { mfa_token: await mfaToken(username), otp: codeAt(secret, 0) })).status).toBe(401);
  });

  it('gives exactly one success to concurrent submissions of one mfa_token and code', async () => {
    const { username, secret } = await newUser({ totp: true });
    const token = await mfaToken(username);
    const code = codeAt(secret);
    const replies = await Promise.all(Array.from({ length: 6 }, () => post('/login/mfa', { mfa_token: token, otp: code })));
    // The others are refused: 401, or 429 where the burst ran past the throttle (each is counted first).
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    for (const status of statuses.filter((s) => s !== 200)) expect([401, 429]).toContain(status);
  });

  it('gives exactly one success to one code submitted concurrently with two different logins', async () => {
    const { username, secret } = await newUser({ totp: true });
    const [a, b, c] = [await mfaToken(username), await mfaToken(username), await mfaToken(username)];
    const code = codeAt(secret);
    const replies = await Promise.all([a, b, c].map((token) => post('/login/mfa', { mfa_token: token, otp: code })));
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    for (const status of statuses.filter((s) => s !== 200)) expect([401, 429]).toContain(status);
  });

  it('accepts each recovery code once, with amr pwd+mfa, and says so in the audit log', async () => {
    const { username, recoveryCodes } = await newUser({ totp: true });
    const [first = '', second = ''] = recoveryCodes;
    const used = await post('/login/mfa', { mfa_token: await mfaToken(username), recovery_code: first.toLowerCase() });
    expect(used.status, JSON.stringify(used.body)).toBe(200);
    expect(claims(used.body['access_token'])['amr']).toEqual(['pwd', 'mfa']);
    expect((await post('/login/mfa', { mfa_token: await mfaToken(username), recovery_code: first })).status).toBe(401);
    expect((await post('/login/mfa', { mfa_token: await mfaToken(username), recovery_code: second.replace(/-/g, ' ') })).status).toBe(200);
  });

  it('refuses a recovery code of another user, and a wrong recovery code costs no KMS call', async () => {
    const a = await newUser({ totp: true });
    const b = await newUser({ totp: true });
    const token = await mfaToken(a.username);
    service.kms.resetCalls();
    expect((await post('/login/mfa', { mfa_token: token, recovery_code: b.recoveryCodes[0] })).status).toBe(401);
    expect(service.kms.calls()).toEqual({});
    expect((await post('/login/mfa', { mfa_token: token, recovery_code: a.recoveryCodes[0] })).status).toBe(200);
  });

  it('binds the mfa_token to its login: user A\'s token does not complete with user B\'s code', async () => {
    const a = await newUser({ totp: true });
    const b = await newUser({ totp: true });
    const tokenA = await mfaToken(a.username);
    const codeB = codeAt(b.secret);
    const crossed = await post('/login/mfa', { mfa_token: tokenA, otp: codeB });
    expect(crossed.status).toBe(401);
    // B's code was not spent by the attempt: B signs in with it.
    const own = await post('/login/mfa', { mfa_token: await mfaToken(b.username), otp: codeB });
    expect(own.status).toBe(200);
    expect(claims(own.body['access_token'])['sub']).toBe(claims(b.accessToken)['sub']);
  });

  it('refuses an mfa_token after it was used, after it expired, and one that was never issued', async () => {
    const { username, secret } = await newUser({ totp: true });
    const token = await mfaToken(username);
    expect((await post('/login/mfa', { mfa_token: token, otp: codeAt(secret) })).status).toBe(200);
    expect((await post('/login/mfa', { mfa_token: token, otp: codeAt(secret, 1) })).status).toBe(401);

    const expiring = await mfaToken(username);
    // Its item says it expired a second ago (DynamoDB's TTL deletes late; every read checks expiry).
    await service.operatorDeps().stores.dynamo.send(
      new UpdateItemCommand({
        TableName: service.tableName,
        Key: { pk: { S: `MFA#${createHash('sha256').update(expiring).digest('base64url')}` }, sk: { S: 'MFA' } },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': { N: String(Math.floor(Date.now() / 1000) - 1) } },
      }),
    );
    expect((await post('/login/mfa', { mfa_token: expiring, otp: codeAt(secret, 1) })).status).toBe(401);
    expect((await post('/login/mfa', { mfa_token: 'A'.repeat(43), otp: codeAt(secret, 1) })).status).toBe(401);
    // The code was not spent by those refusals.
    expect((await post('/login/mfa', { mfa_token: await mfaToken(username), otp: codeAt(secret, 1) })).status).toBe(200);
  });

  it('re-checks the account at the second step: a disabled user, a replaced factor are refused; cut scopes are cut', async () => {
    const disabled = await newUser({ totp: true });
    const tokenOfDisabled = await mfaToken(disabled.username);
    await ops.disableUser(service.operatorDeps(), disabled.username);
    expect((await post('/login/mfa', { mfa_token: tokenOfDisabled, otp: codeAt(disabled.secret) })).status).toBe(401);

    const replaced = await newUser({ totp: true });
    const tokenOfOldFactor = await mfaToken(replaced.username);
    await ops.resetMfa(service.operatorDeps(), replaced.username);
    const session = await accessTokenOf(replaced.username);
    const newSecret = String((await post('/mfa/totp/enroll', {}, bearer(session))).body['secret']);
    expect((await post('/mfa/totp/confirm', { otp: codeAt(newSecret, -1) }, bearer(session))).status).toBe(200);
    expect((await post('/login/mfa', { mfa_token: tokenOfOldFactor, otp: codeAt(newSecret) })).status).toBe(401);

    const cut = await newUser({ totp: true });
    const tokenBeforeCut = await mfaToken(cut.username);
    await ops.setScopes(service.operatorDeps(), cut.username, ['read'], false);
    const reply = await post('/login/mfa', { mfa_token: tokenBeforeCut, otp: codeAt(cut.secret) });
    expect(reply.status).toBe(200);
    expect(reply.body['scope']).toBe('read');
  });

  it('kills the mfa_token after three wrong codes, and throttles wrong codes like passwords (429 with Retry-After)', async () => {
    const { username, secret } = await newUser({ totp: true });
    const good = codeAt(secret);
    const wrong = String((Number(good) + 500_000) % 1_000_000).padStart(6, '0');
    const token = await mfaToken(username);
    for (let i = 0; i < 3; i++) expect((await post('/login/mfa', { mfa_token: token, otp: wrong })).status).toBe(401);
    // Dead: even the right code no longer completes it.
    const dead = await post('/login/mfa', { mfa_token: token, otp: good });
    expect([401, 429]).toContain(dead.status);
    // Password + wrong codes from this address: the per-user+IP counter (5) runs out.
    let limited: Reply | undefined;
    for (let i = 0; i < 4 && limited === undefined; i++) {
      const login = await passwordLogin(username);
      if (login.status === 429) limited = login;
      else {
        const reply = await post('/login/mfa', { mfa_token: login.body['mfa_token'], otp: wrong });
        if (reply.status === 429) limited = reply;
      }
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('takes back both attempts of a successful login (password and code): the per-user counter is where it was', async () => {
    const { username, secret } = await newUser({ totp: true });
    const attempts = async () => {
      const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
      const out = await service.operatorDeps().stores.dynamo.send(
        new GetItemCommand({ TableName: service.tableName, Key: { pk: { S: `RATE#USER#${username}` }, sk: { S: 'RATE' } }, ConsistentRead: true }),
      );
      return Number(out.Item?.['attempts']?.N ?? 0);
    };
    const before = await attempts();
    expect((await post('/login/mfa', { mfa_token: await mfaToken(username), otp: codeAt(secret) })).status).toBe(200);
    expect(await attempts()).toBe(before);
  });

  it('validates the body: exactly one of otp and recovery_code, no unknown members (400)', async () => {
    const { username, secret } = await newUser({ totp: true });
    const token = await mfaToken(username);
    for (const body of [{ mfa_token: token }, { mfa_token: token, otp: codeAt(secret), recovery_code: 'x' }, { mfa_token: token, otp: codeAt(secret), extra: 1 }, { otp: '123456' }]) {
      const reply = await post('/login/mfa', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body['error']).toBe('invalid_request');
    }
    expect((await post('/login/mfa', { mfa_token: token, otp: codeAt(secret) })).status).toBe(200);
  });
});

describe('removal and reset', () => {
  it('removes the factor with a current code (a wrong one is 400): login is password-only again', async () => {
    const { username, secret, accessToken } = await newUser({ totp: true });
    expect((await post('/mfa/totp/remove', { otp: '12345' }, bearer(accessToken))).status).toBe(400);
    const removed = await post('/mfa/totp/remove', { otp: codeAt(secret) }, bearer(accessToken));
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect((await accountOf(accessToken)).body['mfa']).toEqual({ totp: false });
    const user = await service.operatorDeps().stores.users.findUser(username);
    expect(await dumpPartition(user?.sub ?? '')).toEqual(expect.not.arrayContaining([expect.objectContaining({ sk: { S: 'FACTOR#TOTP' } })]));
    expect((await dumpPartition(user?.sub ?? '')).filter((item) => item['sk']?.S?.startsWith('RECOVERY#'))).toEqual([]);
    expect((await passwordLogin(username)).status).toBe(200);
    expect((await post('/mfa/totp/remove', { otp: codeAt(secret, 1) }, bearer(accessToken))).status).toBe(404);
  });

  it('throttles wrong codes at removal like passwords: 429 with Retry-After, and the factor stays', async () => {
    const { accessToken, secret } = await newUser({ totp: true });
    const good = codeAt(secret);
    const wrong = String((Number(good) + 500_000) % 1_000_000).padStart(6, '0');
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await post('/mfa/totp/remove', { otp: wrong }, bearer(accessToken))).status);
    expect(statuses.slice(0, 5)).toEqual([400, 400, 400, 400, 400]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    const limited = await post('/mfa/totp/remove', { otp: good }, bearer(accessToken));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await accountOf(accessToken)).body['mfa']).toEqual({ totp: true });
  });

  it('removes the factor with a recovery code', async () => {
    const { username, recoveryCodes, accessToken } = await newUser({ totp: true });
    expect((await post('/mfa/totp/remove', { recovery_code: recoveryCodes[3] }, bearer(accessToken))).status).toBe(200);
    expect((await passwordLogin(username)).status).toBe(200);
  });

  it('lets the operator reset a user\'s MFA (CLI reset-mfa): factor, pending enrolment and recovery codes gone', async () => {
    const { username } = await newUser({ totp: true });
    expect(await ops.resetMfa(service.operatorDeps(), username)).toMatchObject({ removed: true });
    const user = await service.operatorDeps().stores.users.findUser(username);
    expect(await dumpPartition(user?.sub ?? '')).toEqual(expect.not.arrayContaining([expect.objectContaining({ sk: expect.objectContaining({ S: expect.stringMatching(/^(FACTOR|PENDING|RECOVERY)#/) }) })]));
    expect((await passwordLogin(username)).status).toBe(200);
    expect(await ops.resetMfa(service.operatorDeps(), username)).toMatchObject({ removed: false });
  });

  it('lets set-password accept an 8-character password only for an account with a second factor', async () => {
    const plain = await newUser();
    await expect(ops.setPassword(service.operatorDeps(), plain.username, 'Tr0ub4dor&x')).rejects.toThrow(/15 characters/);
    const withTotp = await newUser({ totp: true });
    await expect(ops.setPassword(service.operatorDeps(), withTotp.username, 'Tr0ub4dor&x')).resolves.toBeGreaterThanOrEqual(0);
  });
});

describe('outages', () => {
  it('KMS down at enrolment: 503 and no pending enrolment written', async () => {
    const { accessToken } = await newUser();
    service.kms.injectFault({ errorType: 'KMSInternalException', operations: ['Encrypt'] });
    const reply = await post('/mfa/totp/enroll', {}, bearer(accessToken));
    expect(reply.status).toBe(503);
    expect(reply.body['error']).toBe('temporarily_unavailable');
    service.kms.clearFaults();
    expect((await post('/mfa/totp/confirm', { otp: '123456' }, bearer(accessToken))).status).toBe(400);
  });

  it('KMS down at the second step (Decrypt, or Sign): 503, and the same mfa_token and code work afterwards', async () => {
    const { username, secret } = await newUser({ totp: true });
    const token = await mfaToken(username);
    const code = codeAt(secret);
    for (const operation of ['Decrypt', 'Sign']) {
      service.kms.injectFault({ errorType: 'KMSInternalException', operations: [operation] });
      const reply = await post('/login/mfa', { mfa_token: token, otp: code });
      expect(reply.status, operation).toBe(503);
      service.kms.clearFaults();
    }
    expect((await post('/login/mfa', { mfa_token: token, otp: code })).status).toBe(200);
  });

  it('DynamoDB failing the confirmation\'s write: 503 and the factor is not on, no recovery code stored', async () => {
    const { accessToken, username } = await newUser();
    const secret = String((await post('/mfa/totp/enroll', {}, bearer(accessToken))).body['secret']);
    dynamo.failWith({ status: 500, type: 'InternalServerError', operations: ['TransactWriteItems'] });
    expect((await post('/mfa/totp/confirm', { otp: codeAt(secret) }, bearer(accessToken))).status).toBe(503);
    dynamo.failWith(undefined);
    expect((await accountOf(accessToken)).body['mfa']).toEqual({ totp: false });
    const user = await service.operatorDeps().stores.users.findUser(username);
    expect((await dumpPartition(user?.sub ?? '')).filter((item) => item['sk']?.S?.startsWith('RECOVERY#'))).toEqual([]);
    expect((await post('/mfa/totp/confirm', { otp: codeAt(secret) }, bearer(accessToken))).status).toBe(200);
  });
});

describe('least privilege: every AWS call the TOTP routes make is granted (lib/function-access.ts)', () => {
  it('the account function: enrol, confirm, remove (with its throttle), GET /account', async () => {
    const { accessToken } = await newUser();
    let secret = '';
    const seen = await observeActions(dynamo, service.kms, async () => {
      secret = String((await post('/mfa/totp/enroll', {}, bearer(accessToken))).body['secret']);
      expect((await post('/mfa/totp/confirm', { otp: codeAt(secret, -1) }, bearer(accessToken))).status).toBe(200);
      expect((await accountOf(accessToken)).status).toBe(200);
      expect((await post('/mfa/totp/remove', { otp: '000000' === codeAt(secret) ? '000001' : '000000' }, bearer(accessToken))).status).toBe(400);
      expect((await post('/mfa/totp/remove', { otp: codeAt(secret) }, bearer(accessToken))).status).toBe(200);
    });
    // The authorizer's own read (GetItem) is granted to the authorizer; the account function's calls:
    const account = grantedActions('account');
    const authorizer = grantedActions('authorizer');
    expectWithinGrants(seen, new Set([...account, ...authorizer]));
    expect(seen.kms.sort()).toEqual(['kms:Decrypt', 'kms:Encrypt']);
    for (const action of seen.kms) expect(account).toContain(action);
  });

  it('the login function: the password step and the code step', async () => {
    const { username, secret } = await newUser({ totp: true });
    const seen = await observeActions(dynamo, service.kms, async () => {
      expect((await post('/login/mfa', { mfa_token: await mfaToken(username), otp: codeAt(secret) })).status).toBe(200);
    });
    expectWithinGrants(seen, grantedActions('login'));
    expect(grantedActions('refresh').has('kms:Decrypt')).toBe(false);
  });
});

describe('calls per login (measured)', () => {
  it('password-only login, new device: as before plus one GetItem for the second factor (and one for the key registry); one Sign, no Decrypt', async () => {
    const { username } = await newUser();
    dynamo.reset();
    service.kms.resetCalls();
    expect((await passwordLogin(username)).status).toBe(200);
    expect(dynamo.counts()).toEqual({ BatchGetItem: 1, UpdateItem: 5, GetItem: 3, DeleteItem: 1, PutItem: 1, TransactWriteItems: 1 });
    expect(service.kms.calls()).toEqual({ Sign: 1 });
  });

  it('login with TOTP, new device: the password step and the code step', async () => {
    const { username, secret } = await newUser({ totp: true });
    dynamo.reset();
    service.kms.resetCalls();
    const token = await mfaToken(username);
    // Counters read and counted (BatchGetItem, 3 UpdateItem), user and factor read, challenge stored.
    expect(dynamo.counts()).toEqual({ BatchGetItem: 1, UpdateItem: 3, GetItem: 2, PutItem: 1 });
    expect(service.kms.calls()).toEqual({});
    dynamo.reset();
    expect((await post('/login/mfa', { mfa_token: token, otp: codeAt(secret) })).status).toBe(200);
    // Challenge, factor and user read; the code counted like a password (BatchGetItem, 3 UpdateItem);
    // challenge + step in one transaction; both attempts taken back (DeleteItem, 4 UpdateItem) and the
    // device stored; the family; the key registry (which key signs).
    expect(dynamo.counts()).toEqual({ GetItem: 4, BatchGetItem: 1, UpdateItem: 7, TransactWriteItems: 2, DeleteItem: 1, PutItem: 1 });
    expect(service.kms.calls()).toEqual({ Decrypt: 1, Sign: 1 });
  });
});
