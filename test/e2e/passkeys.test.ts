/**
 * Passkeys over HTTP against the local service (the unchanged handlers, DynamoDB Local, the KMS
 * stand-in), with a software authenticator (test/support/soft-authenticator.ts) standing in for
 * the browser: registration, listing, removal, sign-in as a first factor, and every refusal —
 * wrong origin, wrong RP ID, no user verification, challenge reuse (also concurrent), expiry and
 * purpose, another user's credential, a cloned authenticator's counter, malformed bodies — each
 * checked to change nothing. test/e2e/browser-passkeys.test.ts drives the same routes from Chromium.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../cli/operations.ts';
import { createDynamoDbClient } from '../../lambdas/adapters/runtime.ts';
import type { LocalService } from '../../local/service.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { expectWithinGrants, grantedActions, observeActions } from '../support/iam-grants.ts';
import { request, type Reply } from '../support/http-client.ts';
import { SoftAuthenticator, type SoftCredential } from '../support/soft-authenticator.ts';

const PASSWORD = 'correct horse battery staple';
const OTHER = { username: 'mallory', password: 'a different long passphrase here' };
let counted: CountedService;
let service: LocalService;
let origin: string;
let authenticator: SoftAuthenticator;

const table = () => createDynamoDbClient({ region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, endpoint: service.dynamo.endpoint });
const challengeKey = (challenge: string) => ({ pk: { S: `WEBAUTHN#${challenge}` }, sk: { S: 'CHALLENGE' } });
const payload = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function login(username = 'demo', password = PASSWORD): Promise<Record<string, unknown>> {
  const reply = await request(service.url, 'POST', '/login', { json: { username, password } });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body;
}
const accessToken = async (username = 'demo', password = PASSWORD): Promise<string> => String((await login(username, password))['access_token']);

const registrationOptions = async (token: string): Promise<Reply> => request(service.url, 'POST', '/passkeys/register/options', { headers: bearer(token) });
const verifyRegistration = (token: string, json: unknown): Promise<Reply> => request(service.url, 'POST', '/passkeys/register/verify', { headers: bearer(token), json });
const listPasskeys = async (token: string): Promise<Record<string, unknown>[]> => {
  const reply = await request(service.url, 'GET', '/passkeys', { headers: bearer(token) });
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body['passkeys'] as Record<string, unknown>[];
};
const signInOptions = async (): Promise<{ challenge: string; rpId?: string } & Record<string, unknown>> => {
  const reply = await request(service.url, 'POST', '/login/passkey/options');
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  return reply.body as { challenge: string };
};
const signIn = (json: unknown): Promise<Reply> => request(service.url, 'POST', '/login/passkey', { json });

/** Registers a new passkey for the user of `token`; answers the credential and the reply. */
async function register(token: string, name?: string): Promise<{ credential: SoftCredential; reply: Reply }> {
  const options = await registrationOptions(token);
  expect(options.status, JSON.stringify(options.body)).toBe(200);
  const { credential, response } = authenticator.create(options.body as never);
  const reply = await verifyRegistration(token, { response, ...(name === undefined ? {} : { name }) });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return { credential, reply };
}

beforeAll(async () => {
  counted = await startCountedService({ demoPassword: PASSWORD });
  service = counted.service;
  origin = `http://localhost:${service.port}`;
  authenticator = new SoftAuthenticator(origin, 'localhost');
  await ops.createUser(service.operatorDeps(), OTHER.username, OTHER.password, ['read']);
});

afterAll(async () => {
  await counted?.stop();
});

describe('registration', () => {
  it('offers creation options for the caller: RP localhost, discoverable, user verification required, user.id that maps back to the sub', async () => {
    const token = await accessToken();
    const reply = await registrationOptions(token);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(reply.body).toMatchObject({
      rp: { id: 'localhost' },
      user: { name: 'demo' },
      attestation: 'none',
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    });
    const user = reply.body['user'] as { id: string };
    expect(Buffer.from(user.id, 'base64url').toString('utf8')).toBe(payload(token)['sub']);
    expect(String(reply.body['challenge'])).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('registers a passkey, lists it without its public key, and excludes it from the next options', async () => {
    const token = await accessToken();
    const { credential, reply } = await register(token, 'Laptop');
    const id = Buffer.from(credential.id).toString('base64url');
    expect(reply.body).toMatchObject({ id, name: 'Laptop', backed_up: false, device_type: 'singleDevice', transports: ['internal'] });
    expect(Date.parse(String(reply.body['created_at']))).toBeGreaterThan(Date.now() - 60_000);
    const listed = await listPasskeys(token);
    const entry = listed.find((passkey) => passkey['id'] === id);
    expect(entry).toMatchObject({ name: 'Laptop' });
    expect(Object.keys(entry ?? {}).sort()).toEqual(['backed_up', 'created_at', 'device_type', 'id', 'name', 'transports']);
    const next = await registrationOptions(token);
    expect((next.body['excludeCredentials'] as { id: string }[]).map((c) => c.id)).toContain(id);
  });

  it('refuses a response from another origin, for another RP ID, or without user verification (400), and stores nothing', async () => {
    const token = await accessToken(OTHER.username, OTHER.password);
    for (const bent of [{ origin: 'http://localhost:1' }, { origin: 'https://evil.example' }, { rpId: 'evil.example' }, { userVerified: false }]) {
      const options = await registrationOptions(token);
      const { response } = authenticator.create(options.body as never, bent);
      const reply = await verifyRegistration(token, { response });
      expect(reply.status, JSON.stringify(bent)).toBe(400);
      expect(reply.body['error']).toBe('invalid_request');
    }
    expect(await listPasskeys(token)).toEqual([]);
  });

  it('uses a registration challenge once: the same response again is refused', async () => {
    const token = await accessToken(OTHER.username, OTHER.password);
    const options = await registrationOptions(token);
    const { response } = authenticator.create(options.body as never);
    expect((await verifyRegistration(token, { response })).status).toBe(201);
    const again = await verifyRegistration(token, { response });
    expect(again.status).toBe(400);
    expect(String(again.body['error_description'])).toMatch(/challenge/);
    expect(await listPasskeys(token)).toHaveLength(1);
  });

  it('refuses a challenge issued to another user: registration challenges are bound to their user', async () => {
    const demo = await accessToken();
    const other = await accessToken(OTHER.username, OTHER.password);
    const options = await registrationOptions(demo);
    const { response } = authenticator.create(options.body as never);
    const before = (await listPasskeys(other)).length;
    expect((await verifyRegistration(other, { response })).status).toBe(400);
    expect(await listPasskeys(other)).toHaveLength(before);
  });

  it('refuses a sign-in challenge offered for registration (challenges are bound to their purpose)', async () => {
    const token = await accessToken();
    const options = await registrationOptions(token);
    const signInChallenge = (await signInOptions()).challenge;
    const { response } = authenticator.create({ ...(options.body as never as { rp: object; user: { id: string } }), challenge: signInChallenge });
    expect((await verifyRegistration(token, { response })).status).toBe(400);
  });

  it.each([
    ['no body', undefined],
    ['no response', { name: 'x' }],
    ['a response of the wrong shape', { response: { id: 'abc', type: 'public-key' } }],
    ['a response that is not an object', { response: 'abc' }],
    ['an unknown member', { response: {}, extra: 1 }],
    ['a name with control characters', { response: {}, name: 'a\u0000b' }],
    ['clientDataJSON that is not base64url', { response: { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: '!!', attestationObject: 'AA' } } }],
    ['clientDataJSON without a challenge of ours', { response: { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: Buffer.from('{"challenge":"x"}').toString('base64url'), attestationObject: 'AA' } } }],
  ])('answers 400 to %s and stores nothing', async (_name, json) => {
    const token = await accessToken();
    const before = await listPasskeys(token);
    const reply = json === undefined
      ? await request(service.url, 'POST', '/passkeys/register/verify', { headers: bearer(token) })
      : await verifyRegistration(token, json);
    expect(reply.status, JSON.stringify(reply.body)).toBe(400);
    expect(reply.body['error']).toBe('invalid_request');
    expect(await listPasskeys(token)).toEqual(before);
  });

  it('needs a signed-in caller: every passkey account route without a token is 401', async () => {
    for (const [method, path] of [['POST', '/passkeys/register/options'], ['POST', '/passkeys/register/verify'], ['GET', '/passkeys'], ['POST', '/passkeys/delete']] as const) {
      expect((await request(service.url, method, path)).status, path).toBe(401);
    }
  });
});

describe('sign-in with a passkey', () => {
  let credential: SoftCredential;
  let sub: string;

  beforeAll(async () => {
    await ops.createUser(service.operatorDeps(), 'peggy', 'peggys own long passphrase', ['read', 'profile']);
    const token = await accessToken('peggy', 'peggys own long passphrase');
    sub = String(payload(token)['sub']);
    credential = (await register(token, 'Phone')).credential;
  });

  it('offers request options without allowCredentials (discoverable) and requiring user verification', async () => {
    const options = await signInOptions();
    expect(options).toMatchObject({ rpId: 'localhost', userVerification: 'required' });
    expect(options['allowCredentials']).toBeUndefined();
  });

  it('signs in: a token response whose access token works, names the user, carries amr hwk/user/mfa and survives a refresh', async () => {
    const options = await signInOptions();
    const reply = await signIn({ response: authenticator.get(credential, options), challenge_id: options.challenge });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    const claims = payload(String(reply.body['access_token']));
    expect(claims).toMatchObject({ sub, scope: 'read profile', amr: ['hwk', 'user', 'mfa'] });
    expect(Number(claims['auth_time'])).toBeGreaterThan(Date.now() / 1000 - 60);
    const whoami = await request(service.url, 'GET', '/whoami', { headers: bearer(String(reply.body['access_token'])) });
    expect(whoami.status).toBe(200);
    expect(whoami.body['sub']).toBe(sub);
    const refreshed = await request(service.url, 'POST', '/refresh', { json: { refresh_token: reply.body['refresh_token'] } });
    expect(refreshed.status).toBe(200);
    expect(payload(String(refreshed.body['access_token']))['amr']).toEqual(['hwk', 'user', 'mfa']);
    const listed = await listPasskeys(String(reply.body['access_token']));
    expect(Date.parse(String(listed[0]?.['last_used_at']))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('names a synced (backed-up) passkey swk instead of hwk', async () => {
    await ops.createUser(service.operatorDeps(), 'sybil', 'sybils own long passphrase', ['read']);
    const token = await accessToken('sybil', 'sybils own long passphrase');
    const options = await registrationOptions(token);
    const { credential: synced, response } = authenticator.create(options.body as never, { backedUp: true });
    const registered = await verifyRegistration(token, { response });
    expect(registered.body).toMatchObject({ backed_up: true, device_type: 'multiDevice' });
    const reply = await signIn({ response: authenticator.get(synced, await signInOptions(), { backedUp: true }) });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(payload(String(reply.body['access_token']))['amr']).toEqual(['swk', 'user', 'mfa']);
  });

  it('refuses (401, not a DynamoDB error) a credential id longer than any stored one', async () => {
    const reply = await signIn({ response: authenticator.get(credential, await signInOptions(), { id: Buffer.alloc(1500, 7) }) });
    expect(reply.status, JSON.stringify(reply.body)).toBe(401);
    expect(reply.body['error']).toBe('invalid_grant');
  });

  it('signs in through the client library (loginWithPasskey), whose authorized fetch then works; a removed-user assertion is InvalidCredentialsError', async () => {
    const { createAuthClient, InvalidCredentialsError } = await import('../../client/index.ts');
    const auth = createAuthClient({ baseUrl: service.url });
    await auth.loginWithPasskey(async (options) => authenticator.get(credential, options as { challenge: string }));
    const whoami = await auth.fetch(`${service.url}/whoami`);
    expect(whoami.status).toBe(200);
    expect(((await whoami.json()) as { sub: string }).sub).toBe(sub);
    const stranger = createAuthClient({ baseUrl: service.url });
    await expect(stranger.loginWithPasskey(async (options) => authenticator.get(credential, options as { challenge: string }, { userHandle: null }))).rejects.toBeInstanceOf(
      InvalidCredentialsError,
    );
  });

  it('keeps amr ["pwd"] for a password login, and after its refresh', async () => {
    const body = await login();
    expect(payload(String(body['access_token']))['amr']).toEqual(['pwd']);
    const refreshed = await request(service.url, 'POST', '/refresh', { json: { refresh_token: body['refresh_token'] } });
    expect(payload(String(refreshed.body['access_token']))['amr']).toEqual(['pwd']);
  });

  it('refuses a replayed assertion: its challenge was used', async () => {
    const options = await signInOptions();
    const response = authenticator.get(credential, options);
    expect((await signIn({ response })).status).toBe(200);
    const replay = await signIn({ response });
    expect(replay.status).toBe(401);
    expect(replay.body['error']).toBe('invalid_grant');
  });

  it('lets exactly one of ten concurrent sign-ins with one challenge through', async () => {
    const options = await signInOptions();
    const response = authenticator.get(credential, options);
    const replies = await Promise.all(Array.from({ length: 10 }, () => signIn({ response })));
    expect(replies.map((r) => r.status).sort()).toEqual([200, ...Array<number>(9).fill(401)]);
  });

  it('lets exactly one of ten concurrent registrations with one challenge through', async () => {
    const token = await accessToken('peggy', 'peggys own long passphrase');
    const before = (await listPasskeys(token)).length;
    const options = await registrationOptions(token);
    const { response } = authenticator.create(options.body as never);
    const replies = await Promise.all(Array.from({ length: 10 }, () => verifyRegistration(token, { response })));
    expect(replies.map((r) => r.status).sort()).toEqual([201, ...Array<number>(9).fill(400)]);
    expect(await listPasskeys(token)).toHaveLength(before + 1);
  });

  it('refuses an assertion for another origin or RP ID, without user verification, or for a challenge it was not made for', async () => {
    for (const bent of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { userVerified: false }, { challenge: 'A'.repeat(43) }]) {
      const options = await signInOptions();
      const reply = await signIn({ response: authenticator.get(credential, options, bent) });
      expect(reply.status, JSON.stringify(bent)).toBe(401);
      expect(reply.body['error']).toBe('invalid_grant');
    }
  });

  it('refuses a challenge_id other than the challenge the assertion signed', async () => {
    const [first, second] = [await signInOptions(), await signInOptions()];
    expect((await signIn({ response: authenticator.get(credential, first), challenge_id: second.challenge })).status).toBe(401);
  });

  it('stores challenges for at most five minutes, with the TTL attribute set to their expiry', async () => {
    const options = await signInOptions();
    const item = await table().send(new GetItemCommand({ TableName: service.tableName, Key: challengeKey(options.challenge) }));
    const expiresAt = Number(item.Item?.['expiresAt']?.N);
    expect(expiresAt).toBeGreaterThan(Date.now() / 1000 + 240);
    expect(expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 300);
    expect(Number(item.Item?.['ttl']?.N)).toBe(expiresAt);
  });

  it('refuses an expired challenge that DynamoDB has not deleted yet (TTL deletion lags): the store checks the expiry', async () => {
    const options = await signInOptions();
    const expired = Math.floor(Date.now() / 1000) - 1;
    await table().send(
      new UpdateItemCommand({
        TableName: service.tableName,
        Key: challengeKey(options.challenge),
        UpdateExpression: 'SET expiresAt = :e, #ttl = :e',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':e': { N: String(expired) } },
      }),
    );
    const reply = await signIn({ response: authenticator.get(credential, options) });
    expect(reply.status).toBe(401);
    expect(String(reply.body['error_description'])).toMatch(/expired/);
  });

  it('lets only one of two assertions with the same counter through when they race (a clone racing the genuine authenticator)', async () => {
    const [first, second] = [await signInOptions(), await signInOptions()];
    const counter = credential.counter + 1;
    const replies = await Promise.all([
      signIn({ response: authenticator.get(credential, first, { counter }) }),
      signIn({ response: authenticator.get(credential, second, { counter }) }),
    ]);
    expect(replies.map((r) => r.status).sort()).toEqual([200, 401]);
  });

  it('refuses a registration challenge offered for sign-in', async () => {
    const token = await accessToken('peggy', 'peggys own long passphrase');
    const options = await registrationOptions(token);
    const reply = await signIn({ response: authenticator.get(credential, { challenge: String(options.body['challenge']) }) });
    expect(reply.status).toBe(401);
  });

  it('refuses an assertion without a user handle, or whose user handle names another user', async () => {
    const demoSub = String(payload(await accessToken())['sub']);
    for (const userHandle of [null, Buffer.from(demoSub)]) {
      const options = await signInOptions();
      expect((await signIn({ response: authenticator.get(credential, options, { userHandle }) })).status).toBe(401);
    }
  });

  it("refuses another user's credential id: an assertion by demo's passkey naming peggy finds nothing", async () => {
    const demo = await register(await accessToken());
    const options = await signInOptions();
    const reply = await signIn({ response: authenticator.get(demo.credential, options, { userHandle: Buffer.from(sub) }) });
    expect(reply.status).toBe(401);
  });

  it('refuses a cloned authenticator: a signature counter that does not increase (WebAuthn §6.1.1), and changes nothing', async () => {
    const options = await signInOptions();
    const good = await signIn({ response: authenticator.get(credential, options) });
    expect(good.status).toBe(200);
    const token = String(good.body['access_token']);
    const before = await listPasskeys(token);
    const stale = await signIn({ response: authenticator.get(credential, await signInOptions(), { counter: credential.counter }) });
    expect(stale.status).toBe(401);
    expect(await listPasskeys(token)).toEqual(before);
  });

  it.each([
    ['no body', undefined],
    ['a body that is not JSON', 'raw'],
    ['no response', {}],
    ['a response without a signature', { response: { id: 'a', rawId: 'a', type: 'public-key', response: { clientDataJSON: 'AA', authenticatorData: 'AA' } } }],
    ['an unknown member', { response: {}, username: 'demo' }],
    ['a challenge_id that is not one', { response: {}, challenge_id: '!' }],
  ])('answers 400 to %s', async (_name, json) => {
    const reply = json === undefined
      ? await request(service.url, 'POST', '/login/passkey')
      : json === 'raw'
        ? await request(service.url, 'POST', '/login/passkey', { raw: '{"response":', headers: { 'content-type': 'application/json' } })
        : await signIn(json);
    expect(reply.status, JSON.stringify(reply.body)).toBe(400);
    expect(reply.body['error']).toBe('invalid_request');
  });
});

describe('removal', () => {
  it("removes the caller's passkey; signing in with it is then refused; another user's passkey id is 404 and stays", async () => {
    await ops.createUser(service.operatorDeps(), 'victor', 'victors own long passphrase', ['read']);
    const victor = await accessToken('victor', 'victors own long passphrase');
    const demo = await accessToken();
    const { credential } = await register(victor, 'Key');
    const id = Buffer.from(credential.id).toString('base64url');

    const foreign = await request(service.url, 'POST', '/passkeys/delete', { headers: bearer(demo), json: { id } });
    expect(foreign.status).toBe(404);
    expect(await listPasskeys(victor)).toHaveLength(1);

    const removed = await request(service.url, 'POST', '/passkeys/delete', { headers: bearer(victor), json: { id } });
    expect(removed.status).toBe(200);
    expect(await listPasskeys(victor)).toEqual([]);
    expect((await request(service.url, 'POST', '/passkeys/delete', { headers: bearer(victor), json: { id } })).status).toBe(404);

    const reply = await signIn({ response: authenticator.get(credential, await signInOptions()) });
    expect(reply.status).toBe(401);
  });

  it('lets the operator list and remove a passkey (CLI list-passkeys, remove-passkey); signing in with it is then refused', async () => {
    await ops.createUser(service.operatorDeps(), 'walter', 'walters own long passphrase', ['read']);
    const { credential } = await register(await accessToken('walter', 'walters own long passphrase'), 'Tablet');
    const id = Buffer.from(credential.id).toString('base64url');
    expect((await ops.listPasskeys(service.operatorDeps(), 'walter')).map((p) => [p.credentialId, p.name])).toEqual([[id, 'Tablet']]);
    expect(await ops.removePasskey(service.operatorDeps(), 'demo', id)).toBe(false);
    expect(await ops.removePasskey(service.operatorDeps(), 'walter', id)).toBe(true);
    expect(await ops.listPasskeys(service.operatorDeps(), 'walter')).toEqual([]);
    expect((await signIn({ response: authenticator.get(credential, await signInOptions()) })).status).toBe(401);
  });

  it('answers 400 to a malformed delete body', async () => {
    const token = await accessToken();
    for (const json of [{}, { id: 5 }, { id: 'has spaces' }, { id: 'a', extra: true }]) {
      expect((await request(service.url, 'POST', '/passkeys/delete', { headers: bearer(token), json })).status, JSON.stringify(json)).toBe(400);
    }
  });
});

describe('grants and faults', () => {
  it('stays within the IAM grants of the account function (registration, listing, removal) and the login function (sign-in)', async () => {
    await ops.createUser(service.operatorDeps(), 'iam-passkey', 'iam passkey long passphrase', ['read']);
    const token = await accessToken('iam-passkey', 'iam passkey long passphrase');
    let credential: SoftCredential | undefined;
    const account = await observeActions(counted.dynamo, service.kms, async () => {
      credential = (await register(token)).credential;
      await listPasskeys(token);
    });
    expect(account.dynamo).toEqual(new Set(['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']));
    expectWithinGrants(account, grantedActions('account'));
    const login = await observeActions(counted.dynamo, service.kms, async () => {
      if (credential === undefined) throw new Error('no credential');
      expect((await signIn({ response: authenticator.get(credential, await signInOptions()) })).status).toBe(200);
    });
    expectWithinGrants(login, grantedActions('login'));
    const removal = await observeActions(counted.dynamo, service.kms, async () => {
      const id = Buffer.from(credential?.id ?? []).toString('base64url');
      expect((await request(service.url, 'POST', '/passkeys/delete', { headers: bearer(token), json: { id } })).status).toBe(200);
    });
    expectWithinGrants(removal, grantedActions('account'));
  });

  it('answers 503 temporarily_unavailable while DynamoDB is down, and the challenge survives for a retry', async () => {
    await ops.createUser(service.operatorDeps(), 'outage', 'outage own long passphrase', ['read']);
    const { credential } = await register(await accessToken('outage', 'outage own long passphrase'));
    const options = await signInOptions();
    const response = authenticator.get(credential, options);
    counted.dynamo.failWith({ status: 500, type: 'InternalServerError' });
    try {
      const down = await signIn({ response });
      expect(down.status).toBe(503);
      expect(down.body['error']).toBe('temporarily_unavailable');
      expect((await request(service.url, 'POST', '/login/passkey/options')).status).toBe(503);
    } finally {
      counted.dynamo.failWith(undefined);
    }
    expect((await signIn({ response })).status).toBe(200);
  });
});

describe('without a relying party', () => {
  it('answers every passkey route 404 "not enabled" when the issuer is an IP address and no PASSKEY_RP_ID is set', async () => {
    const { startLocalService } = await import('../../local/service.ts');
    const off = await startLocalService({ port: 0, demoPassword: PASSWORD, env: { PASSKEY_RP_ID: '', PASSKEY_ORIGINS: '' } });
    try {
      const token = String((await request(off.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } })).body['access_token']);
      for (const [method, path, json] of [
        ['POST', '/login/passkey/options', undefined],
        ['POST', '/login/passkey', { response: {} }],
        ['POST', '/passkeys/register/options', undefined],
        ['POST', '/passkeys/register/verify', { response: {} }],
        ['GET', '/passkeys', undefined],
        ['POST', '/passkeys/delete', { id: 'abc' }],
      ] as const) {
        const reply = await request(off.url, method, path, { headers: bearer(token), ...(json === undefined ? {} : { json }) });
        expect(reply.status, path).toBe(404);
        expect(String(reply.body['error_description']), path).toMatch(/Passkeys are not enabled/);
      }
    } finally {
      await off.stop();
    }
  });
});

describe('calls per passkey sign-in (measured)', () => {
  it('the options: one PutItem of the challenge; the sign-in: the challenge consumed, passkey and user read, the counter, the family, the key registry, one Sign', async () => {
    const { credential } = await register(await accessToken());
    counted.dynamo.reset();
    service.kms.resetCalls();
    const options = await signInOptions();
    expect(counted.dynamo.counts()).toEqual({ PutItem: 1 });
    counted.dynamo.reset();
    const reply = await signIn({ response: authenticator.get(credential, options) });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(counted.dynamo.counts()).toEqual({ DeleteItem: 1, GetItem: 3, UpdateItem: 1, TransactWriteItems: 1 });
    expect(service.kms.calls()).toEqual({ Sign: 1 });
  });
});
