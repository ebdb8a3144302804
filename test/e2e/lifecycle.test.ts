/**
 * The whole lifecycle over HTTP against the local service (the unchanged handlers behind the local
 * gateway, DynamoDB Local, the KMS stand-in): login → whoami → refresh → reuse → family dead →
 * revoke → dead, with the calls each operation makes counted.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, calculateJwkThumbprint, type JWK } from 'jose';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply, type RequestOptions } from '../support/http-client.ts';
import { expectWithinGrants, grantedActions, observeActions, type SeenActions } from '../support/iam-grants.ts';

const PASSWORD = 'correct horse battery staple';
let service: LocalService;
let dynamo: CountingProxy;
let counted: CountedService | undefined;

const call = (method: string, path: string, options: RequestOptions = {}): Promise<Reply> =>
  request(service.url, method, path, options);

const login = (username = 'demo', password = PASSWORD) => call('POST', '/login', { json: { username, password } });
const refresh = (token: unknown) => call('POST', '/refresh', { json: { refresh_token: token } });
const whoami = (token: unknown) => call('GET', '/whoami', { headers: { authorization: `Bearer ${String(token)}` } });

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

describe('discovery and keys', () => {
  it('publishes the signing key as a JWK whose kid is its RFC 7638 thumbprint', async () => {
    const res = await call('GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    const keys = res.body['keys'] as JWK[];
    expect(keys).toHaveLength(1);
    const key = keys[0] as JWK;
    // RS256 from a KMS RSA_2048 key is the default; ES256 runs in forged-tokens.test.ts.
    expect(key).toMatchObject({ kty: 'RSA', e: 'AQAB', alg: 'RS256', use: 'sig' });
    expect(Buffer.from(String(key.n), 'base64url')).toHaveLength(256);
    expect(key).not.toHaveProperty('d');
    const { kid, alg, use, ...publicMembers } = key;
    expect(kid).toBe(await calculateJwkThumbprint(publicMembers, 'sha256'));
    expect([alg, use]).toEqual(['RS256', 'sig']);
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
  });

  it('serves discovery metadata naming the issuer, the JWKS and the endpoints', async () => {
    const res = await call('GET', '/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: service.url,
      jwks_uri: `${service.url}/.well-known/jwks.json`,
      token_endpoint: `${service.url}/refresh`,
      revocation_endpoint: `${service.url}/revoke`,
      grant_types_supported: ['refresh_token'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
    });
    // Login is a first-party endpoint, never the password grant (RFC 9700 §2.4).
    expect(JSON.stringify(res.body)).not.toContain('password');
  });
});

describe('login', () => {
  it('returns an RFC 6749 token response, never cached, with an RFC 9068 access token that verifies against the JWKS', async () => {
    const res = await login();
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'profile read' });
    expect(res.body['refresh_expires_in']).toBe(7 * 86_400);
    const access = String(res.body['access_token']);
    expect(decodeProtectedHeader(access)).toMatchObject({ alg: 'RS256', typ: 'at+jwt' });
    const jwks = (await call('GET', '/.well-known/jwks.json')).body as { keys: JWK[] };
    const { payload } = await jwtVerify(access, createLocalJWKSet(jwks), {
      issuer: service.url,
      audience: 'kms-jwt-auth-local',
      typ: 'at+jwt',
      algorithms: ['RS256'],
    });
    expect(Object.keys(payload).sort()).toEqual(
      ['amr', 'aud', 'auth_time', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sid', 'sub'].sort(),
    );
    // RFC 8176: a password-only login.
    expect(payload['amr']).toEqual(['pwd']);
    expect(payload.exp! - payload.iat!).toBe(900);
    const refreshToken = String(res.body['refresh_token']);
    expect(refreshToken).toMatch(/^[A-Za-z0-9_-]{114}$/);
    expect(refreshToken).not.toContain(String(payload.sid));
  });

  it('answers a wrong password and an unknown user with the same 401', async () => {
    const wrong = await login('demo', 'not the password');
    const unknown = await login('nobody-here', 'not the password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'invalid_grant', error_description: 'The username or password is incorrect.' });
    expect(unknown.body).toEqual(wrong.body);
  });

  it.each([
    ['a body that is not JSON', { raw: '{"username":', headers: { 'content-type': 'application/json' } }],
    ['a text/plain body', { raw: JSON.stringify({ username: 'demo', password: PASSWORD }), headers: { 'content-type': 'text/plain' } }],
    ['no body', { headers: { 'content-type': 'application/json' } }],
    ['a JSON array', { json: [] }],
    ['a missing password', { json: { username: 'demo' } }],
    ['a numeric username', { json: { username: 42, password: PASSWORD } }],
    ['a username with spaces', { json: { username: 'de mo', password: PASSWORD } }],
    ['a 2000-character password', { json: { username: 'demo', password: 'x'.repeat(2000) } }],
    ['an unknown field', { json: { username: 'demo', password: PASSWORD, grant_type: 'password' } }],
    ['a malformed scope', { json: { username: 'demo', password: PASSWORD, scope: 'a\\b' } }],
    ['a 20 KB body', { json: { username: 'demo', password: PASSWORD, pad: 'x'.repeat(20_000) } }],
  ])('rejects %s with 400 invalid_request', async (_name, request) => {
    const res = await call('POST', '/login', request);
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('invalid_request');
    expect(String(res.body['error_description']).length).toBeGreaterThan(10);
  });

  it('refuses a scope the user does not hold', async () => {
    const res = await call('POST', '/login', { json: { username: 'demo', password: PASSWORD, scope: 'admin' } });
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('invalid_scope');
  });

  it('grants a requested subset of the user scopes', async () => {
    const res = await call('POST', '/login', { json: { username: 'demo', password: PASSWORD, scope: 'read' } });
    expect(res.status).toBe(200);
    expect(res.body['scope']).toBe('read');
    expect((await whoami(res.body['access_token'])).body['scope']).toBe('read');
  });
});

describe('the authorizer in front of the sample routes', () => {
  it('lets a valid token through to /whoami with sub, scope, sid and jti in the context', async () => {
    const tokens = (await login()).body;
    const res = await whoami(tokens['access_token']);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ scope: 'profile read' });
    expect(res.body['sub']).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof res.body['sid']).toBe('string');
    expect(typeof res.body['jti']).toBe('string');
  });

  it('answers 401 without a token, with a malformed one, and with a tampered one', async () => {
    const access = String((await login()).body['access_token']);
    const [h, p, s] = access.split('.');
    const claims = JSON.parse(Buffer.from(String(p), 'base64url').toString()) as Record<string, unknown>;
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${s}`;
    expect((await call('GET', '/whoami')).status).toBe(401);
    expect((await whoami('not-a-token')).status).toBe(401);
    expect((await whoami(tampered)).status).toBe(401);
    expect((await whoami(`${h}.${p}.`)).status).toBe(401);
  });

  it('answers 403 on /admin for a valid token without the admin scope', async () => {
    const res = await call('GET', '/admin', { headers: { authorization: `Bearer ${String((await login()).body['access_token'])}` } });
    expect(res.status).toBe(403);
  });
});

describe('refresh rotation and reuse', () => {
  it('rotates: a new refresh token each time, and the new access token works', async () => {
    const first = (await login()).body;
    const second = await refresh(first['refresh_token']);
    expect(second.status).toBe(200);
    expect(second.headers.get('cache-control')).toBe('no-store');
    expect(second.body['refresh_token']).not.toBe(first['refresh_token']);
    const third = await refresh(second.body['refresh_token']);
    expect(third.status).toBe(200);
    expect((await whoami(third.body['access_token'])).body['sid']).toBe((await whoami(first['access_token'])).body['sid']);
  });

  it('treats a rotated-out token as reuse: the family dies and its access tokens stop at once', async () => {
    // Superseded two generations ago, so outside any grace period (refresh-grace.test.ts waits one out).
    const first = (await login()).body;
    const second = (await refresh((await refresh(first['refresh_token'])).body['refresh_token'])).body;
    expect((await whoami(second['access_token'])).status).toBe(200);

    const replay = await refresh(first['refresh_token']);
    expect(replay.status).toBe(401);
    expect(replay.body['error']).toBe('invalid_grant');
    // The thief's copy and the victim's newest token are both dead now.
    expect((await refresh(second['refresh_token'])).status).toBe(401);
    expect((await whoami(second['access_token'])).status).toBe(401);
    expect((await whoami(first['access_token'])).status).toBe(401);
  });

  it('answers every one of many racing refreshes of one token with the same successor, and the family never forks', async () => {
    const first = (await login()).body;
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(first['refresh_token'])));
    // One conditional write wins at the store; the others fall within the grace period and are
    // handed the winner's successor (refresh-grace.test.ts has the full race).
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 8 }, () => 200));
    expect(new Set(results.map((r) => r.body['refresh_token'])).size).toBe(1);
    expect((await refresh(results[0]?.body['refresh_token'])).status).toBe(200);
  });

  it('rejects refresh tokens that are not of a live family, changing nothing', async () => {
    const first = (await login()).body;
    const token = String(first['refresh_token']);
    // Characters 23–43 encode the secret family id: change it and the token names no family.
    const otherFamily = `${token.slice(0, 30)}${token[30] === 'A' ? 'B' : 'A'}${token.slice(31)}`;
    for (const bad of [otherFamily, token.slice(0, 113), `${token}=`, `${token.slice(0, 113)}+`, first['access_token'], 'x'.repeat(114)]) {
      const res = await refresh(bad);
      expect(res.status, String(bad).slice(0, 20)).toBe(401);
      expect(res.body['error']).toBe('invalid_grant');
    }
    expect((await refresh(token)).status).toBe(200);
  });

  it('rejects a token of a live family with a wrong secret and changes nothing: knowing part of a token ends no session', async () => {
    const first = (await login()).body;
    const token = String(first['refresh_token']);
    const wrongSecret = `${token.slice(0, 60)}${token[60] === 'A' ? 'B' : 'A'}${token.slice(61)}`;
    const res = await refresh(wrongSecret);
    expect(res.status).toBe(401);
    expect(res.body['error']).toBe('invalid_grant');
    expect((await whoami(first['access_token'])).status).toBe(200);
    expect((await refresh(token)).status).toBe(200);
  });

  it('rejects a refresh request without a token with 400', async () => {
    expect((await call('POST', '/refresh', { json: {} })).status).toBe(400);
    expect((await call('POST', '/refresh', { json: { refresh_token: 7 } })).status).toBe(400);
  });
});

describe('a body that names a member twice is 400 invalid_request and changes nothing', () => {
  const raw = (path: string, text: string, headers: Record<string, string> = {}) =>
    call('POST', path, { raw: text, headers: { 'content-type': 'application/json', ...headers } });
  const expectInvalidRequest = (res: Reply) => {
    expect(res.status, JSON.stringify(res.body).slice(0, 80)).toBe(400);
    expect(res.body['error']).toBe('invalid_request');
  };

  it.each([
    ['literally', `{"username":"nobody","username":"demo","password":"${PASSWORD}"}`],
    ['in an escaped spelling', `{"username":"nobody","user\\u006eame":"demo","password":"${PASSWORD}"}`],
    ['inside a nested object', `{"username":"demo","password":"${PASSWORD}","scope":{"a":1,"a":2}}`],
  ])('POST /login with a duplicate %s: no session, no DynamoDB or KMS call', async (_name, text) => {
    dynamo.reset();
    service.kms.resetCalls();
    expectInvalidRequest(await raw('/login', text));
    expect(dynamo.total()).toBe(0);
    expect(service.kms.calls()).toEqual({});
  });

  it('POST /refresh with refresh_token twice: the token is not rotated and still refreshes', async () => {
    const token = String((await login()).body['refresh_token']);
    dynamo.reset();
    expectInvalidRequest(await raw('/refresh', `{"refresh_token":"${token}","refresh_token":"${token}"}`));
    expectInvalidRequest(await raw('/refresh', `{"refresh_token":"not-a-token","refresh_\\u0074oken":"${token}"}`));
    expect(dynamo.total()).toBe(0);
    expect((await refresh(token)).status).toBe(200);
  });

  it('POST /revoke with token twice: the session survives', async () => {
    const tokens = (await login()).body;
    expectInvalidRequest(await raw('/revoke', `{"token":"no-such-token","token":"${String(tokens['refresh_token'])}"}`));
    expectInvalidRequest(await raw('/revoke', `{"token":"${String(tokens['access_token'])}","\\u0074oken":"${String(tokens['access_token'])}"}`));
    expect((await whoami(tokens['access_token'])).status).toBe(200);
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
  });

  const form = (path: string, text: string) => call('POST', path, { raw: text, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  /** RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once." */
  const expectDuplicateParameter = (res: Reply) => {
    expectInvalidRequest(res);
    expect(res.body['error_description']).toMatch(/more than once/);
    expect(res.headers.get('cache-control')).toBe('no-store');
  };

  it('POST /refresh with a form naming a parameter twice, in any spelling: the token is not rotated and still refreshes', async () => {
    const token = String((await login()).body['refresh_token']);
    dynamo.reset();
    service.kms.resetCalls();
    expectDuplicateParameter(await form('/refresh', `grant_type=refresh_token&refresh_token=${token}&refresh_token=${token}`));
    expectDuplicateParameter(await form('/refresh', `grant_type=refresh_token&refresh_token=not-a-token&refresh%5Ftoken=${token}`));
    expectDuplicateParameter(await form('/refresh', `grant_type=refresh_token&grant_type=refresh_token&refresh_token=${token}`));
    expectDuplicateParameter(await form('/refresh', `grant_type=refresh_token&refresh_token=${token}&client_id=local-client&client_id=local-client`));
    expectDuplicateParameter(await form('/refresh', `grant_type=refresh_token&refresh_token=${token}&extra=&extra=1`));
    expect(dynamo.total()).toBe(0);
    expect(service.kms.calls()).toEqual({});
    expect((await refresh(token)).status).toBe(200);
  });

  it('POST /revoke with a form naming token twice: the session survives', async () => {
    const tokens = (await login()).body;
    dynamo.reset();
    expectDuplicateParameter(await form('/revoke', `token=no-such-token&token=${String(tokens['refresh_token'])}`));
    expectDuplicateParameter(await form('/revoke', `token=${String(tokens['access_token'])}&%74oken=${String(tokens['access_token'])}`));
    expectDuplicateParameter(await form('/revoke', `token=${String(tokens['refresh_token'])}&token_type_hint=refresh_token&token_type_hint=access_token`));
    expect(dynamo.total()).toBe(0);
    expect((await whoami(tokens['access_token'])).status).toBe(200);
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
  });

  it('POST /logout-all with a body naming a member twice: every session survives', async () => {
    const tokens = (await login()).body;
    const authorization = `Bearer ${String(tokens['access_token'])}`;
    expectInvalidRequest(await raw('/logout-all', '{"everywhere":true,"everywhere":true}', { authorization }));
    expect((await whoami(tokens['access_token'])).status).toBe(200);
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
  });
});

describe('revocation', () => {
  it('revoking a refresh token ends its session, and its access tokens stop at once', async () => {
    const tokens = (await login()).body;
    const res = await call('POST', '/revoke', { json: { token: tokens['refresh_token'], token_type_hint: 'refresh_token' } });
    expect(res.status).toBe(200);
    expect((await refresh(tokens['refresh_token'])).status).toBe(401);
    expect((await whoami(tokens['access_token'])).status).toBe(401);
  });

  it('revoking an access token stops that token only', async () => {
    const a = (await login()).body;
    const b = (await refresh(a['refresh_token'])).body;
    expect((await call('POST', '/revoke', { json: { token: a['access_token'] } })).status).toBe(200);
    expect((await whoami(a['access_token'])).status).toBe(401);
    expect((await whoami(b['access_token'])).status).toBe(200);
    expect((await refresh(b['refresh_token'])).status).toBe(200);
  });

  it('a logout racing a refresh of the same token ends the session whichever lands first', async () => {
    const tokens = (await login()).body;
    const [refreshed, revoked] = await Promise.all([
      refresh(tokens['refresh_token']),
      call('POST', '/revoke', { json: { token: tokens['refresh_token'] } }),
    ]);
    expect(revoked.status).toBe(200);
    if (refreshed.status === 200) {
      expect((await refresh(refreshed.body['refresh_token'])).status).toBe(401);
      expect((await whoami(refreshed.body['access_token'])).status).toBe(401);
    } else {
      expect(refreshed.status).toBe(401);
    }
    expect((await whoami(tokens['access_token'])).status).toBe(401);
  });

  it('answers 200 for an unknown token and 400 for a malformed request (RFC 7009 §2.2)', async () => {
    expect((await call('POST', '/revoke', { json: { token: 'no-such-token' } })).status).toBe(200);
    expect((await call('POST', '/revoke', { json: { token: 5 } })).status).toBe(400);
    expect((await call('POST', '/revoke', { json: { token: 'x', token_type_hint: 'bogus' } })).status).toBe(400);
  });

  it('refuses the cookie logout route while cookie mode is off, and the session survives', async () => {
    const tokens = (await login()).body;
    const res = await call('POST', '/refresh/revoke', { headers: { cookie: `__Secure-refresh_token=${String(tokens['refresh_token'])}` } });
    expect(res.status).toBe(400);
    expect(res.body['error']).toBe('invalid_request');
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
  });

  it('logging out everywhere stops every session and access token of the caller, not other users', async () => {
    const one = (await login()).body;
    const two = (await login()).body;
    const res = await call('POST', '/logout-all', { headers: { authorization: `Bearer ${String(one['access_token'])}` } });
    expect(res.status).toBe(200);
    expect(res.body['revoked_sessions']).toBeGreaterThanOrEqual(2);
    expect((await whoami(one['access_token'])).status).toBe(401);
    expect((await whoami(two['access_token'])).status).toBe(401);
    expect((await refresh(two['refresh_token'])).status).toBe(401);
    const again = await login();
    expect(again.status).toBe(200);
    expect((await whoami(again.body['access_token'])).status).toBe(200);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const claimsOf = (token: unknown) => JSON.parse(Buffer.from(String(String(token).split('.')[1]), 'base64url').toString()) as Record<string, number>;

/**
 * Runs `before`, then `after` at once, in the same wall-clock second: the case a comparison at
 * whole seconds gets wrong. Each try starts just after a second begins (the steps take a few
 * hundred ms); a try whose `after` was sent in the next second anyway is repeated, at most 5
 * times, so the same-second case is reached every run rather than by luck.
 */
async function inOneSecond<T>(before: () => Promise<void>, after: () => Promise<T>): Promise<T> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    await sleep(1_000 - (Date.now() % 1_000) + 5);
    const began = Date.now();
    await before();
    const sent = Date.now();
    const result = await after();
    if (Math.floor(began / 1_000) === Math.floor(sent / 1_000)) return result;
  }
  throw new Error('could not run both steps within one second in 5 tries');
}

describe('a login right after the user was logged out everywhere (the same second) succeeds', () => {
  it('logout-all then login at once: the new access token works at the authorizer; one issued before the logout, in that second, is denied', async () => {
    const ops = await import('../../cli/operations.ts');
    await ops.createUser(service.operatorDeps(), 'judy', 'judy-password-1', ['read']);
    let before: Record<string, unknown> = {};
    let loggedOutAt = 0;
    const after = await inOneSecond(
      async () => {
        before = (await login('judy', 'judy-password-1')).body;
        loggedOutAt = Date.now();
        const res = await call('POST', '/logout-all', { headers: { authorization: `Bearer ${String(before['access_token'])}` } });
        expect(res.status).toBe(200);
      },
      () => login('judy', 'judy-password-1'),
    );
    // The old token was issued in the very second of the logout, before it.
    expect(claimsOf(before['access_token'])['iat']).toBe(Math.floor(loggedOutAt / 1_000));
    expect(after.status, JSON.stringify(after.body).slice(0, 120)).toBe(200);
    expect((await whoami(after.body['access_token'])).status).toBe(200);
    expect((await refresh(after.body['refresh_token'])).status).toBe(200);
    expect((await whoami(before['access_token'])).status).toBe(401);
    expect((await refresh(before['refresh_token'])).status).toBe(401);
    // The new session starts after the logout's second, which the authorizer compares with.
    expect(claimsOf(after.body['access_token'])['auth_time']).toBeGreaterThan(Math.floor(loggedOutAt / 1_000));
  });

  it.each([
    ['enable-user after disable-user', 'frank', async (ops: typeof import('../../cli/operations.ts'), deps: import('../../cli/operations.ts').OperatorDeps) => {
      await ops.disableUser(deps, 'frank');
      await ops.enableUser(deps, 'frank');
    }],
    ['set-password', 'grace', async (ops: typeof import('../../cli/operations.ts'), deps: import('../../cli/operations.ts').OperatorDeps) => {
      await ops.setPassword(deps, 'grace', 'grace-password-1');
    }],
    ['revoke-all', 'heidi', async (ops: typeof import('../../cli/operations.ts'), deps: import('../../cli/operations.ts').OperatorDeps) => {
      await ops.revokeAll(deps, 'heidi');
    }],
    ['set-scopes --revoke-sessions', 'ivan', async (ops: typeof import('../../cli/operations.ts'), deps: import('../../cli/operations.ts').OperatorDeps) => {
      await ops.setScopes(deps, 'ivan', ['read'], true);
    }],
  ])('the CLI\'s %s, then login at once: 200, and the token works', async (_name, username, operation) => {
    const ops = await import('../../cli/operations.ts');
    const deps = service.operatorDeps();
    const password = `${username}-password-1`;
    await ops.createUser(deps, username, password, ['read']);
    const old = (await login(username, password)).body;
    const after = await inOneSecond(() => operation(ops, deps), () => login(username, password));
    expect(after.status, JSON.stringify(after.body).slice(0, 120)).toBe(200);
    expect((await whoami(after.body['access_token'])).status).toBe(200);
    expect((await whoami(old['access_token'])).status).toBe(401);
  });
});

describe('calls per operation', () => {
  it('refresh is one conditional DynamoDB write, one read of the key registry and one KMS Sign, nothing more', async () => {
    const tokens = (await login()).body;
    dynamo.reset();
    service.kms.resetCalls();
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
    expect(dynamo.counts()).toEqual({ UpdateItem: 1, GetItem: 1 });
    expect(service.kms.calls()).toEqual({ Sign: 1 });
  });

  it('a warm authorizer decision makes one DynamoDB call and no KMS call', async () => {
    const tokens = (await login()).body;
    await whoami(tokens['access_token']);
    dynamo.reset();
    service.kms.resetCalls();
    expect((await whoami(tokens['access_token'])).status).toBe(200);
    expect(dynamo.total()).toBe(1);
    expect(service.kms.calls()).toEqual({});
  });

  it('login from a new device: reads the counters, counts the attempt on each (3 conditional writes), reads the user and whether it has a second factor, takes the attempt back and stores the device (4 writes in parallel), writes the family in one transaction, reads the key registry, signs once', async () => {
    dynamo.reset();
    service.kms.resetCalls();
    expect((await login()).status).toBe(200);
    expect(dynamo.counts()).toEqual({ BatchGetItem: 1, UpdateItem: 5, GetItem: 3, DeleteItem: 1, PutItem: 1, TransactWriteItems: 1 });
    expect(service.kms.calls()).toEqual({ Sign: 1 });
  });

  it('login from a trusted device: counts the attempt on the device, reads the user and its second factor, renews the device, writes the family, reads the key registry, signs once', async () => {
    const deviceToken = String((await login()).body['device_token']);
    dynamo.reset();
    service.kms.resetCalls();
    const res = await call('POST', '/login', { json: { username: 'demo', password: PASSWORD, device_token: deviceToken } });
    expect(res.status).toBe(200);
    expect(res.body['device_token']).toBe(deviceToken);
    expect(dynamo.counts()).toEqual({ UpdateItem: 2, GetItem: 3, TransactWriteItems: 1 });
    expect(service.kms.calls()).toEqual({ Sign: 1 });
  });
});

describe('dependencies down', () => {
  it('answers 503 temporarily_unavailable with Retry-After when DynamoDB is down, and changes nothing', async () => {
    const tokens = (await login()).body;
    dynamo.failWith({ status: 500, type: 'InternalServerError' });
    const res = await refresh(tokens['refresh_token']);
    expect(res.status).toBe(503);
    expect(res.body['error']).toBe('temporarily_unavailable');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await login()).status).toBe(503);
    // The authorizer fails closed: API Gateway answers 500 when the authorizer cannot decide.
    expect([401, 500]).toContain((await whoami(tokens['access_token'])).status);
    dynamo.failWith(undefined);
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
  });

  it('a KMS failure during refresh answers 503 and the presented refresh token still works', async () => {
    const tokens = (await login()).body;
    service.kms.injectFault({ errorType: 'KMSInternalException', status: 500, operations: ['Sign'] });
    const res = await refresh(tokens['refresh_token']);
    expect(res.status).toBe(503);
    expect(res.body['error']).toBe('temporarily_unavailable');
    service.kms.clearFaults();
    const retry = await refresh(tokens['refresh_token']);
    expect(retry.status).toBe(200);
  });

  it('DynamoDB throttling answers 503 with Retry-After, not 500', async () => {
    const tokens = (await login()).body;
    dynamo.failWith({ status: 400, type: 'ProvisionedThroughputExceededException' });
    const res = await refresh(tokens['refresh_token']);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    const revoked = await call('POST', '/revoke', { json: { token: tokens['refresh_token'] } });
    expect(revoked.status).toBe(503);
    dynamo.failWith(undefined);
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
  });

  it('a KMS that hangs past the client timeout answers 503 and the refresh token still works', async () => {
    const tokens = (await login()).body;
    service.kms.injectFault({ delayMs: 4_000, operations: ['Sign'], count: 2 });
    const res = await refresh(tokens['refresh_token']);
    expect(res.status).toBe(503);
    service.kms.clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    expect((await refresh(tokens['refresh_token'])).status).toBe(200);
  });

  it('a KMS failure during login answers 503 and stores no session', async () => {
    service.kms.injectFault({ errorType: 'ThrottlingException', status: 400, operations: ['Sign'] });
    dynamo.reset();
    const res = await login();
    expect(res.status).toBe(503);
    expect(dynamo.counts()['TransactWriteItems'] ?? 0).toBe(0);
  });
});

describe('operator actions (the admin CLI operations) against the running service', () => {
  it('creates a user who can log in, and disabling them ends their sessions at once', async () => {
    const ops = await import('../../cli/operations.ts');
    const deps = service.operatorDeps();
    await ops.createUser(deps, 'Carol', 'carol-password-1', ['read', 'admin']);
    const tokens = (await login('carol', 'carol-password-1')).body;
    const adminRes = await call('GET', '/admin', { headers: { authorization: `Bearer ${String(tokens['access_token'])}` } });
    expect(adminRes.status).toBe(200);
    expect((await ops.listSessions(deps, 'carol')).length).toBe(1);

    expect(await ops.disableUser(deps, 'carol')).toBe(1);
    expect((await whoami(tokens['access_token'])).status).toBe(401);
    expect((await refresh(tokens['refresh_token'])).status).toBe(401);
    expect((await login('carol', 'carol-password-1')).status).toBe(401);
  });

  it('lists every user with status and scopes, whatever else the table holds, and never a password hash', async () => {
    const ops = await import('../../cli/operations.ts');
    const deps = service.operatorDeps();
    await ops.createUser(deps, 'walt', 'walt-password-long-1', ['read']);
    await ops.createUser(deps, 'vera', 'vera-password-long-1', ['read', 'admin']);
    await ops.disableUser(deps, 'vera');
    // Sessions, revocations and throttle counters share the table; none of them is a user.
    expect((await login('walt', 'walt-password-long-1')).status).toBe(200);
    expect((await login('walt', 'wrong-password-for-walt')).status).toBe(401);

    const users = await ops.listUsers(deps);
    const names = users.map((u) => u.username);
    expect(names).toEqual([...names].sort());
    expect(names).toEqual(expect.arrayContaining(['demo', 'vera', 'walt']));
    expect(users.find((u) => u.username === 'walt')).toMatchObject({ status: 'active', scopes: ['read'], sub: expect.any(String) });
    expect(users.find((u) => u.username === 'vera')).toMatchObject({ status: 'disabled', scopes: ['read', 'admin'] });
    expect(JSON.stringify(users)).not.toContain('argon2');
    for (const u of users) expect(Object.keys(u).sort()).toEqual(['scopes', 'status', 'sub', 'username']);
  });

  it('revokes one session by its sid and leaves the others', async () => {
    const ops = await import('../../cli/operations.ts');
    const deps = service.operatorDeps();
    await ops.createUser(deps, 'dave', 'dave-password-1', ['read']);
    const a = (await login('dave', 'dave-password-1')).body;
    const b = (await login('dave', 'dave-password-1')).body;
    const sidA = String((await whoami(a['access_token'])).body['sid']);
    const revokedAt = Math.floor(Date.now() / 1000);
    expect(await ops.revokeSession(deps, 'dave', sidA)).toBe(true);
    expect((await whoami(a['access_token'])).status).toBe(401);
    // The operator's shell does not know the deployment's token lifetime: the session's entry in
    // the user's revocation item must outlive the longest access token any deployment can issue
    // (60 min + 5 min skew).
    const daveSub = String((await whoami(b['access_token'])).body['sub']);
    const entry = await new DynamoDBClient({ endpoint: service.dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }).send(
      new GetItemCommand({ TableName: service.tableName, Key: { pk: { S: `DENY#SUB#${daveSub}` }, sk: { S: 'DENY' } }, ConsistentRead: true }),
    );
    expect(Number(entry.Item?.['sids']?.M?.[sidA]?.N)).toBeGreaterThanOrEqual(revokedAt + 3600 + 300);
    expect((await whoami(b['access_token'])).status).toBe(200);
    await expect(ops.createUser(deps, 'dave', 'another-password', [])).rejects.toThrow(/already exists/);
  });
});

describe('password rules (NIST SP 800-63B-4) against the running service', () => {
  it('create-user and set-password refuse a weak password with a 400 naming the rule, changing nothing', async () => {
    const ops = await import('../../cli/operations.ts');
    const deps = service.operatorDeps();
    await expect(ops.createUser(deps, 'mallory', 'mallory2024mallory', ['read'])).rejects.toMatchObject({
      code: 'invalid_request',
      status: 400,
      rule: 'derived_from_username',
    });
    expect(await deps.stores.users.findUser('mallory')).toBeUndefined();

    await ops.createUser(deps, 'oscar', 'oscar likes long walks', ['read']);
    const session = (await login('oscar', 'oscar likes long walks')).body;
    await expect(ops.setPassword(deps, 'oscar', 'qwerty123456789')).rejects.toMatchObject({ status: 400, rule: 'common' });
    // Nothing changed: the old password still works and the session lives on.
    expect((await login('oscar', 'oscar likes long walks')).status).toBe(200);
    expect((await whoami(session['access_token'])).status).toBe(200);
  });

  it('never applies at login: a user whose password predates the rules (8 characters) still logs in over HTTP', async () => {
    const { Argon2idHasher } = await import('../../lambdas/core/passwords.ts');
    const deps = service.operatorDeps();
    const hash = await new Argon2idHasher(undefined, (n) => randomBytes(n)).hash('short-pw');
    const created = await deps.stores.users.createUser(
      { username: 'peggy', sub: '6f1c1c57-9a43-4d55-8f0e-1f0a9b6b5e21', passwordHash: hash, scopes: ['read'], status: 'active' },
      Math.floor(Date.now() / 1000),
    );
    expect(created).toBe(true);
    const res = await login('peggy', 'short-pw');
    expect(res.status).toBe(200);
    expect((await whoami(res.body['access_token'])).status).toBe(200);
  });
});

describe('login throttling over HTTP', () => {
  it('answers 429 with Retry-After after repeated failures, even with the right password, and other users are unaffected', async () => {
    const ops = await import('../../cli/operations.ts');
    await ops.createUser(service.operatorDeps(), 'erin', 'erin-password-1', ['read']);
    for (let i = 0; i < 5; i += 1) expect((await login('erin', `wrong-${i}`)).status).toBe(401);
    const blocked = await login('erin', 'erin-password-1');
    expect(blocked.status).toBe(429);
    expect(blocked.body['error']).toBe('too_many_requests');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await login()).status).toBe(200);
  });
});

describe('the IAM grants of the CDK stack cover what each function really calls', () => {
  /**
   * `lib/function-access.ts` is what the stack grants; here each function's requests go through
   * the counting proxy, which names the IAM actions they need, so a missing grant (AccessDenied
   * in AWS) shows up locally. (A needless grant does not: each test only checks that what it saw
   * is granted.)
   */
  const observe = (action: () => Promise<void>): Promise<SeenActions> => observeActions(dynamo, service.kms, action);
  const granted = grantedActions;
  const expectWithin = expectWithinGrants;

  it('login: failure counters, user read, family transaction, counter clear and Sign', async () => {
    const ops = await import('../../cli/operations.ts');
    await ops.createUser(service.operatorDeps(), 'iam-login', 'iam-login-password', ['read']);
    const seen = await observe(async () => {
      expect((await login('iam-login', 'wrong password')).status).toBe(401);
      expect((await login('nobody-iam', 'wrong password')).status).toBe(401);
      expect((await login('iam-login', 'iam-login-password')).status).toBe(200);
    });
    expect(seen.dynamo).toEqual(
      new Set(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem']),
    );
    // kms:GetPublicKey too when this is the signer's cold start (it reads the key for the kid).
    expect(seen.kms).toContain('kms:Sign');
    expectWithin(seen, granted('login'));
  });

  it('login: a hash made with older parameters is upgraded in place (one more UpdateItem)', async () => {
    const ops = await import('../../cli/operations.ts');
    const { Argon2idHasher, OWASP_ARGON2ID } = await import('../../lambdas/core/passwords.ts');
    const deps = service.operatorDeps();
    await ops.createUser(deps, 'iam-rehash', 'iam-rehash-password', ['read']);
    const older = new Argon2idHasher({ ...OWASP_ARGON2ID, memoryKiB: 8_192, iterations: 1 }, (n) => randomBytes(n));
    const weak = await older.hash('iam-rehash-password');
    expect(await deps.stores.users.updateUser('iam-rehash', { passwordHash: weak }, Math.floor(Date.now() / 1000))).toBe(true);
    const seen = await observe(async () => {
      expect((await login('iam-rehash', 'iam-rehash-password')).status).toBe(200);
    });
    const upgraded = (await deps.stores.users.findUser('iam-rehash'))?.passwordHash ?? '';
    expect(upgraded).not.toBe(weak);
    expect(upgraded).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${OWASP_ARGON2ID.memoryKiB},t=${OWASP_ARGON2ID.iterations},`));
    expect(seen.dynamo).toContain('dynamodb:UpdateItem');
    expectWithin(seen, granted('login'));
  });

  it('refresh: rotation, reuse revocation and Sign', async () => {
    const tokens = (await login()).body;
    const seen = await observe(async () => {
      const next = (await refresh(tokens['refresh_token'])).body;
      expect((await refresh(next['refresh_token'])).status).toBe(200);
      expect((await refresh(tokens['refresh_token'])).status).toBe(401);
    });
    expect(seen.dynamo).toEqual(new Set(['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem']));
    expectWithin(seen, granted('refresh'));
  });

  it('revoke: a refresh token, an access token, and logout-all behind the authorizer', async () => {
    const one = (await login()).body;
    const two = (await login()).body;
    const seen = await observe(async () => {
      expect((await call('POST', '/revoke', { json: { token: one['refresh_token'] } })).status).toBe(200);
      expect((await call('POST', '/revoke', { json: { token: two['access_token'] } })).status).toBe(200);
    });
    expect(seen.dynamo).toEqual(new Set(['dynamodb:UpdateItem', 'dynamodb:GetItem', 'dynamodb:PutItem']));
    expect(seen.kms).not.toContain('kms:Sign');
    expectWithin(seen, granted('revoke'));

    const three = (await login()).body;
    const logoutAll = await observe(async () => {
      const res = await call('POST', '/logout-all', { headers: { authorization: `Bearer ${String(three['access_token'])}` } });
      expect(res.status).toBe(200);
    });
    // The route runs the authorizer first (GetItem), then the revoke function.
    expect(logoutAll.dynamo).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem']));
    expectWithin(logoutAll, granted('revoke'));
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  });

  it('revoke: a user lists and ends their own sessions (GET /sessions, POST /sessions/revoke); account: GET /account', async () => {
    const [keep, end] = [(await login()).body, (await login()).body];
    const bearer = { authorization: `Bearer ${String(keep['access_token'])}` };
    const sid = String((await whoami(end['access_token'])).body['sid']);
    const sessions = await observe(async () => {
      expect((await call('GET', '/sessions', { headers: bearer })).status).toBe(200);
      expect((await call('POST', '/sessions/revoke', { headers: bearer, json: { sid } })).status).toBe(200);
    });
    expect(sessions.kms).toEqual([]);
    expectWithin(sessions, new Set([...granted('revoke'), ...granted('authorizer')]));
    const account = await observe(async () => {
      expect((await call('GET', '/account', { headers: bearer })).status).toBe(200);
    });
    expect(account.dynamo).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:Query']));
    expectWithin(account, new Set([...granted('account'), ...granted('authorizer')]));
  });

  it('authorizer and jwks: one denylist read, no KMS Sign; JWKS reads the key registry and nothing else', async () => {
    const tokens = (await login()).body;
    const authorizer = await observe(async () => {
      expect((await whoami(tokens['access_token'])).status).toBe(200);
    });
    expect(authorizer.dynamo).toEqual(new Set(['dynamodb:GetItem']));
    expectWithin(authorizer, granted('authorizer'));
    const jwks = await observe(async () => {
      expect((await call('GET', '/.well-known/jwks.json')).status).toBe(200);
      expect((await call('GET', '/.well-known/openid-configuration')).status).toBe(200);
    });
    expect(jwks.dynamo).toEqual(new Set(['dynamodb:GetItem']));
    expect(jwks.kms).not.toContain('kms:Sign');
    expectWithin(jwks, granted('jwks'));
  });
});
