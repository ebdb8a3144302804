/**
 * The client library against a scripted `fetch`: every answer of the service maps to the error or
 * state the docs promise. The behaviour against the real service is in test/e2e/client.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  createAuthClient,
  InvalidCredentialsError,
  InvalidSecondFactorError,
  memoryStorage,
  NetworkError,
  RateLimitedError,
  RequestRejectedError,
  ServiceUnavailableError,
  SessionEndedError,
  type AuthClientOptions,
  type SessionEndedReason,
  type TokenStorage,
} from '../../../client/index.ts';

const BASE = 'https://auth.example.com';
const NOW_MS = Date.UTC(2030, 0, 1);

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** An access token shaped like the service's (the client reads `exp` only; it never verifies). */
function accessToken(expSeconds: number, id = 'a'): string {
  return `${base64url('{"alg":"RS256","typ":"at+jwt"}')}.${base64url(JSON.stringify({ sub: 'demo', exp: expSeconds, jti: id }))}.c2ln`;
}

interface Call {
  readonly url: string;
  readonly init: RequestInit;
}

type Answer = Response | Error | ((call: Call) => Response | Error);

/** A fetch that answers each request with the next scripted answer for its path, recording it. */
function scriptedFetch(script: Record<string, Answer[]>) {
  const calls: Call[] = [];
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const call = { url, init: init ?? {} };
    calls.push(call);
    const path = url.startsWith(BASE) ? new URL(url).pathname : url;
    const answer = script[path]?.shift();
    if (answer === undefined) throw new Error(`unscripted request to ${path}`);
    const result = typeof answer === 'function' ? answer(call) : answer;
    if (result instanceof Error) throw result;
    return result;
  };
  return { fetch: fetchImpl as typeof fetch, calls, of: (path: string) => calls.filter((c) => c.url.endsWith(path)) };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

const tokens = (access: string, refresh = 'r1', extra: Record<string, unknown> = {}) =>
  json(200, { access_token: access, token_type: 'Bearer', expires_in: 900, refresh_token: refresh, refresh_expires_in: 604_800, scope: 'read', ...extra });
const invalidGrant = () => json(401, { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked.' });
const LIVE = accessToken(NOW_MS / 1000 + 900, 'live');
const EXPIRED = accessToken(NOW_MS / 1000 - 1, 'expired');

function client(fetchImpl: typeof fetch, options: Partial<AuthClientOptions> = {}) {
  const storage = options.storage ?? memoryStorage();
  const ended: SessionEndedReason[] = [];
  const auth = createAuthClient({ baseUrl: BASE, storage, fetch: fetchImpl, now: () => NOW_MS, ...options });
  auth.onSessionEnded((reason) => ended.push(reason));
  return { auth, storage, ended };
}

async function storedSession(storage: TokenStorage, access: string, refresh = 'r0'): Promise<void> {
  await storage.set('kms-jwt-auth.access_token', access);
  await storage.set('kms-jwt-auth.refresh_token', refresh);
}

function body(call: Call | undefined): unknown {
  return JSON.parse(String(call?.init.body));
}

describe('login', () => {
  it('stores the tokens and the device token, and sends the device token with the next login, even after logout', async () => {
    const f = scriptedFetch({ '/login': [tokens(LIVE, 'r1', { device_token: 'dev-1' }), tokens(LIVE, 'r2', { device_token: 'dev-1' })], '/revoke': [json(200, {})] });
    const { auth, storage } = client(f.fetch);
    expect(await auth.login({ username: 'demo', password: 'pw', scope: 'read' })).toEqual({ status: 'signed_in' });
    expect(body(f.of('/login')[0])).toEqual({ username: 'demo', password: 'pw', scope: 'read' });
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBe('r1');
    expect(await storage.get('kms-jwt-auth.device_token')).toBe('dev-1');
    await auth.logout();
    expect(await storage.get('kms-jwt-auth.device_token')).toBe('dev-1');
    await auth.login({ username: 'demo', password: 'pw' });
    expect(body(f.of('/login')[1])).toEqual({ username: 'demo', password: 'pw', device_token: 'dev-1' });
  });

  it('maps 401 invalid_grant to InvalidCredentialsError and stores nothing', async () => {
    const f = scriptedFetch({ '/login': [json(401, { error: 'invalid_grant', error_description: 'The username or password is wrong.' })] });
    const { auth, storage } = client(f.fetch);
    await expect(auth.login({ username: 'demo', password: 'wrong' })).rejects.toBeInstanceOf(InvalidCredentialsError);
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBeUndefined();
    expect(await auth.isSignedIn()).toBe(false);
  });

  it('returns the MFA challenge for a 401 mfa_required', async () => {
    const f = scriptedFetch({ '/login': [json(401, { error: 'mfa_required', error_description: 'A second factor is required.', mfa_token: 'mfa-123' })] });
    expect(await client(f.fetch).auth.login({ username: 'demo', password: 'pw' })).toEqual({ status: 'mfa_required', mfaToken: 'mfa-123' });
  });

  it('completes the MFA step with a code: sends the mfa_token, the code and the device token, and stores the session like login', async () => {
    const f = scriptedFetch({
      '/login': [json(401, { error: 'mfa_required', error_description: 'A second factor is required.', mfa_token: 'mfa-123' })],
      '/login/mfa': [tokens(LIVE, 'r-mfa', { device_token: 'dev-2' })],
    });
    const { auth, storage } = client(f.fetch);
    await storage.set('kms-jwt-auth.device_token', 'dev-1');
    const first = await auth.login({ username: 'demo', password: 'pw' });
    expect(first.status).toBe('mfa_required');
    expect(await auth.isSignedIn()).toBe(false);
    await auth.completeMfa({ mfaToken: first.status === 'mfa_required' ? first.mfaToken : '', otp: '123456' });
    expect(body(f.of('/login/mfa')[0])).toEqual({ mfa_token: 'mfa-123', otp: '123456', device_token: 'dev-1' });
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBe('r-mfa');
    expect(await storage.get('kms-jwt-auth.device_token')).toBe('dev-2');
    expect(await auth.isSignedIn()).toBe(true);
  });

  it('sends a recovery code as recovery_code', async () => {
    const f = scriptedFetch({ '/login/mfa': [tokens(LIVE)] });
    await client(f.fetch).auth.completeMfa({ mfaToken: 'mfa-1', recoveryCode: 'ABCD-EFGH-JKMN-PQRS' });
    expect(body(f.of('/login/mfa')[0])).toEqual({ mfa_token: 'mfa-1', recovery_code: 'ABCD-EFGH-JKMN-PQRS' });
  });

  it('maps a refused code (401) to InvalidSecondFactorError with the service\'s sentence, storing nothing; 429 to RateLimitedError', async () => {
    const f = scriptedFetch({
      '/login/mfa': [
        json(401, { error: 'invalid_grant', error_description: 'The code is incorrect or was already used.' }),
        json(429, { error: 'too_many_requests', error_description: 'Too many attempts.' }, { 'retry-after': '30' }),
      ],
    });
    const { auth, storage } = client(f.fetch);
    const refused = await auth.completeMfa({ mfaToken: 'mfa-1', otp: '000000' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidSecondFactorError);
    expect(refused).toMatchObject({ code: 'invalid_second_factor', description: 'The code is incorrect or was already used.' });
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBeUndefined();
    expect(await auth.completeMfa({ mfaToken: 'mfa-1', otp: '000000' }).catch((e: unknown) => e)).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 30 });
  });

  it('maps 429 to RateLimitedError with the wait from Retry-After (seconds or an HTTP date)', async () => {
    const f = scriptedFetch({
      '/login': [
        json(429, { error: 'too_many_requests', error_description: 'Too many attempts.' }, { 'retry-after': '17' }),
        json(429, { error: 'too_many_requests', error_description: 'Too many attempts.' }, { 'retry-after': new Date(NOW_MS + 120_000).toUTCString() }),
      ],
    });
    const { auth } = client(f.fetch);
    const first = await auth.login({ username: 'demo', password: 'pw' }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(RateLimitedError);
    expect(first).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 17 });
    expect(await auth.login({ username: 'demo', password: 'pw' }).catch((e: unknown) => e)).toMatchObject({ retryAfterSeconds: 120 });
  });

  it('maps 503 to ServiceUnavailableError with Retry-After, and a network failure to NetworkError', async () => {
    const f = scriptedFetch({
      '/login': [json(503, { error: 'temporarily_unavailable', error_description: 'Retry shortly.' }, { 'retry-after': '1' }), new TypeError('fetch failed')],
    });
    const { auth } = client(f.fetch);
    const unavailable = await auth.login({ username: 'demo', password: 'pw' }).catch((e: unknown) => e);
    expect(unavailable).toBeInstanceOf(ServiceUnavailableError);
    expect(unavailable).toMatchObject({ code: 'unavailable', retryAfterSeconds: 1, status: 503 });
    const offline = await auth.login({ username: 'demo', password: 'pw' }).catch((e: unknown) => e);
    expect(offline).toBeInstanceOf(NetworkError);
    expect(offline).toMatchObject({ code: 'network' });
  });

  it('maps any other refusal to RequestRejectedError with the service code, never echoing the password', async () => {
    const f = scriptedFetch({ '/login': [json(400, { error: 'invalid_scope', error_description: 'The requested scope is not allowed.' })] });
    const error = await client(f.fetch).auth.login({ username: 'demo', password: 'secret-pw', scope: 'admin' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestRejectedError);
    expect(error).toMatchObject({ status: 400, error: 'invalid_scope' });
    expect(String((error as Error).message)).not.toContain('secret-pw');
  });
});

describe('passkey sign-in', () => {
  const OPTIONS = { challenge: 'c'.repeat(43), rpId: 'example.com', userVerification: 'required' };
  const ASSERTION = { id: 'cred', rawId: 'cred', type: 'public-key', response: {}, clientExtensionResults: {} };

  it('fetches the options, hands them to the app\'s WebAuthn step, sends its answer and keeps the session', async () => {
    const script = scriptedFetch({ '/login/passkey/options': [json(200, OPTIONS)], '/login/passkey': [tokens(LIVE, 'r-passkey')] });
    const { auth, storage } = client(script.fetch);
    const seen: unknown[] = [];
    await auth.loginWithPasskey(async (options) => {
      seen.push(options);
      return ASSERTION;
    }, { scope: 'read' });
    expect(seen).toEqual([OPTIONS]);
    expect(body(script.of('/login/passkey')[0])).toEqual({ response: ASSERTION, scope: 'read' });
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBe('r-passkey');
    expect(await auth.isSignedIn()).toBe(true);
  });

  it('reports a refused passkey as InvalidCredentialsError and keeps no session', async () => {
    const script = scriptedFetch({ '/login/passkey/options': [json(200, OPTIONS)], '/login/passkey': [json(401, { error: 'invalid_grant', error_description: 'no' })] });
    const { auth } = client(script.fetch);
    await expect(auth.loginWithPasskey(async () => ASSERTION)).rejects.toBeInstanceOf(InvalidCredentialsError);
    expect(await auth.isSignedIn()).toBe(false);
  });

  it('sends nothing when the WebAuthn step fails (the user cancelled), and passes its error on', async () => {
    const script = scriptedFetch({ '/login/passkey/options': [json(200, OPTIONS)] });
    const { auth } = client(script.fetch);
    const cancelled = new Error('NotAllowedError');
    await expect(auth.loginWithPasskey(async () => Promise.reject(cancelled))).rejects.toBe(cancelled);
    expect(script.of('/login/passkey')).toHaveLength(0);
  });

  it('asks for cookie delivery in cookie mode', async () => {
    const script = scriptedFetch({ '/login/passkey/options': [json(200, OPTIONS)], '/login/passkey': [tokens(LIVE)] });
    const { auth } = client(script.fetch, { cookieMode: true });
    await auth.loginWithPasskey(async () => ASSERTION);
    expect(body(script.of('/login/passkey')[0])).toMatchObject({ token_delivery: 'cookie' });
    expect(script.of('/login/passkey')[0]?.init.credentials).toBe('include');
  });
});

describe('refresh', () => {
  it('ends the session on 401 invalid_grant: SessionEndedError, the app is told, tokens cleared, device token kept', async () => {
    const f = scriptedFetch({ '/refresh': [invalidGrant()] });
    const { auth, storage, ended } = client(f.fetch);
    await storedSession(storage, EXPIRED);
    await storage.set('kms-jwt-auth.device_token', 'dev-1');
    const error = await auth.fetch('https://api.example.com/orders').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(error).toMatchObject({ code: 'session_ended', reason: 'refresh_rejected' });
    expect(ended).toEqual(['refresh_rejected']);
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBeUndefined();
    expect(await storage.get('kms-jwt-auth.access_token')).toBeUndefined();
    expect(await storage.get('kms-jwt-auth.device_token')).toBe('dev-1');
    expect(f.calls.filter((c) => c.url.startsWith('https://api.example.com'))).toHaveLength(0);
    await expect(auth.fetch('https://api.example.com/orders')).rejects.toMatchObject({ reason: 'not_signed_in' });
  });

  it('keeps the stored refresh token after a network failure and presents it again on the next call', async () => {
    const f = scriptedFetch({ '/refresh': [new TypeError('socket hang up'), tokens(LIVE, 'r1')], 'https://api.example.com/orders': [json(200, { ok: true })] });
    const { auth, storage, ended } = client(f.fetch);
    await storedSession(storage, EXPIRED, 'r0');
    await expect(auth.fetch('https://api.example.com/orders')).rejects.toBeInstanceOf(NetworkError);
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBe('r0');
    expect((await auth.fetch('https://api.example.com/orders')).status).toBe(200);
    expect(f.of('/refresh').map(body)).toEqual([{ refresh_token: 'r0' }, { refresh_token: 'r0' }]);
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBe('r1');
    expect(ended).toEqual([]);
  });

  it('maps 429 and 503 at refresh to their errors and keeps the session', async () => {
    const f = scriptedFetch({
      '/refresh': [json(429, { error: 'too_many_requests' }, { 'retry-after': '5' }), json(503, { error: 'temporarily_unavailable' }, { 'retry-after': '2' })],
    });
    const { auth, storage, ended } = client(f.fetch);
    await storedSession(storage, EXPIRED);
    await expect(auth.refresh()).rejects.toMatchObject({ code: 'rate_limited', retryAfterSeconds: 5 });
    await expect(auth.refresh()).rejects.toMatchObject({ code: 'unavailable', retryAfterSeconds: 2 });
    expect(await auth.isSignedIn()).toBe(true);
    expect(ended).toEqual([]);
  });

  it('refreshes ahead of expiry: within refreshAheadSeconds of exp it refreshes, before that it does not', async () => {
    const f = scriptedFetch({ '/refresh': [tokens(LIVE, 'r1')], 'https://api.example.com/a': [json(200, {}), json(200, {})] });
    const { auth, storage } = client(f.fetch, { refreshAheadSeconds: 60 });
    await storedSession(storage, accessToken(NOW_MS / 1000 + 61));
    await auth.fetch('https://api.example.com/a');
    expect(f.of('/refresh')).toHaveLength(0);
    await storage.set('kms-jwt-auth.access_token', accessToken(NOW_MS / 1000 + 59));
    const fresh = client(f.fetch, { refreshAheadSeconds: 60, storage });
    await fresh.auth.fetch('https://api.example.com/a');
    expect(f.of('/refresh')).toHaveLength(1);
    expect(new Headers(f.calls.at(-1)?.init.headers).get('authorization')).toBe(`Bearer ${LIVE}`);
  });

  it('makes one refresh request for many concurrent callers', async () => {
    const f = scriptedFetch({ '/refresh': [tokens(LIVE, 'r1')], 'https://api.example.com/a': Array.from({ length: 20 }, () => json(200, {})) });
    const { auth, storage } = client(f.fetch);
    await storedSession(storage, EXPIRED);
    const answers = await Promise.all(Array.from({ length: 20 }, () => auth.fetch('https://api.example.com/a')));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(f.of('/refresh')).toHaveLength(1);
  });

  it('sends an RFC 6749 §6 form with client_id when clientId is set', async () => {
    const f = scriptedFetch({ '/refresh': [tokens(LIVE, 'r1')] });
    const { auth, storage } = client(f.fetch, { clientId: 'mobile-app' });
    await storedSession(storage, EXPIRED, 'r0');
    await auth.refresh();
    const call = f.of('/refresh')[0];
    expect(new Headers(call?.init.headers).get('content-type')).toBe('application/x-www-form-urlencoded');
    expect(String(call?.init.body)).toBe('grant_type=refresh_token&refresh_token=r0&client_id=mobile-app');
  });

  it('stores nothing from a refresh that lands after logout', async () => {
    let release: (r: Response) => void = () => undefined;
    const pending = new Promise<Response>((resolve) => {
      release = resolve;
    });
    const f = scriptedFetch({ '/revoke': [json(200, {})] });
    const slow = (async (input: string | URL | Request, init?: RequestInit) => (String(input).endsWith('/refresh') ? pending : f.fetch(input, init))) as typeof fetch;
    const { auth, storage } = client(slow);
    await storedSession(storage, EXPIRED, 'r0');
    const refreshing = auth.refresh();
    const loggingOut = auth.logout();
    release(tokens(LIVE, 'r1'));
    await refreshing;
    await loggingOut;
    expect(await storage.get('kms-jwt-auth.refresh_token')).toBeUndefined();
    // The revoke waited for the refresh and revoked its successor, the live token.
    expect(body(f.of('/revoke')[0])).toEqual({ token: 'r1', token_type_hint: 'refresh_token' });
  });
});

describe('the authorized fetch', () => {
  it('sends the access token as a Bearer header and keeps the caller’s headers', async () => {
    const f = scriptedFetch({ 'https://api.example.com/a': [json(200, {})] });
    const { auth, storage } = client(f.fetch);
    await storedSession(storage, LIVE);
    await auth.fetch('https://api.example.com/a', { headers: { 'x-trace': '1' } });
    const headers = new Headers(f.calls[0]?.init.headers);
    expect(headers.get('authorization')).toBe(`Bearer ${LIVE}`);
    expect(headers.get('x-trace')).toBe('1');
  });

  it('after a 401 refreshes and sends the request once more, with its body; a second 401 is returned, not retried', async () => {
    const next = accessToken(NOW_MS / 1000 + 900, 'next');
    const f = scriptedFetch({ '/refresh': [tokens(next, 'r1')], 'https://api.example.com/orders': [json(401, { message: 'Unauthorized' }), json(401, { message: 'Unauthorized' })] });
    const { auth, storage } = client(f.fetch);
    await storedSession(storage, LIVE);
    const response = await auth.fetch('https://api.example.com/orders', { method: 'POST', body: '{"item":1}' });
    expect(response.status).toBe(401);
    const sent = f.of('/orders');
    expect(sent).toHaveLength(2);
    expect(sent.map((c) => new Headers(c.init.headers).get('authorization'))).toEqual([`Bearer ${LIVE}`, `Bearer ${next}`]);
    expect(sent[1]?.init.body).toBe('{"item":1}');
    expect(f.of('/refresh')).toHaveLength(1);
  });

  it('does not retry a request whose body is a stream (it cannot be sent twice)', async () => {
    const f = scriptedFetch({ 'https://api.example.com/upload': [json(401, { message: 'Unauthorized' })] });
    const { auth, storage } = client(f.fetch);
    await storedSession(storage, LIVE);
    const stream = new ReadableStream({ start: (c) => c.close() });
    expect((await auth.fetch('https://api.example.com/upload', { method: 'POST', body: stream, duplex: 'half' } as RequestInit)).status).toBe(401);
    expect(f.of('/refresh')).toHaveLength(0);
  });

  it('lets the caller’s own abort through as it is', async () => {
    const controller = new AbortController();
    controller.abort();
    const aborting = (async (_: unknown, init?: RequestInit) => {
      init?.signal?.throwIfAborted();
      return json(200, {});
    }) as typeof fetch;
    const { auth, storage } = client(aborting);
    await storedSession(storage, LIVE);
    await expect(auth.fetch('https://api.example.com/a', { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('logout', () => {
  it('revokes the refresh token, forgets the session and tells the app', async () => {
    const f = scriptedFetch({ '/revoke': [json(200, {})] });
    const { auth, storage, ended } = client(f.fetch);
    await storedSession(storage, LIVE, 'r0');
    await auth.logout();
    expect(body(f.of('/revoke')[0])).toEqual({ token: 'r0', token_type_hint: 'refresh_token' });
    expect(await auth.isSignedIn()).toBe(false);
    expect(ended).toEqual(['logout']);
  });

  it('forgets the session even when the service cannot be told, and says so', async () => {
    const f = scriptedFetch({ '/revoke': [new TypeError('offline')] });
    const { auth, storage } = client(f.fetch);
    await storedSession(storage, LIVE);
    await expect(auth.logout()).rejects.toBeInstanceOf(NetworkError);
    expect(await auth.isSignedIn()).toBe(false);
  });

  it('logs out everywhere with the access token', async () => {
    const f = scriptedFetch({ '/logout-all': [json(200, { revoked_sessions: 3 })] });
    const { auth, storage, ended } = client(f.fetch);
    await storedSession(storage, LIVE);
    await auth.logoutEverywhere();
    expect(new Headers(f.of('/logout-all')[0]?.init.headers).get('authorization')).toBe(`Bearer ${LIVE}`);
    expect(ended).toEqual(['logout_everywhere']);
    expect(await auth.isSignedIn()).toBe(false);
  });
});

describe('cookie mode', () => {
  it('asks for cookie delivery, refreshes with credentials and no token in the body, and stores nothing', async () => {
    const next = accessToken(NOW_MS / 1000 + 900, 'next');
    const f = scriptedFetch({
      '/login': [json(200, { access_token: EXPIRED, token_type: 'Bearer', expires_in: 900, refresh_expires_in: 604_800, scope: 'read' })],
      '/refresh': [json(200, { access_token: next, token_type: 'Bearer', expires_in: 900, refresh_expires_in: 604_800, scope: 'read' })],
      '/refresh/revoke': [json(200, {})],
    });
    const writes: string[] = [];
    const storage: TokenStorage = { get: async () => undefined, set: async (key) => void writes.push(key), remove: async () => undefined };
    const { auth, ended } = client(f.fetch, { cookieMode: true, storage });
    await auth.login({ username: 'demo', password: 'pw' });
    expect(body(f.of('/login')[0])).toEqual({ username: 'demo', password: 'pw', token_delivery: 'cookie' });
    expect(f.of('/login')[0]?.init.credentials).toBe('include');
    await auth.refresh();
    const refresh = f.of('/refresh')[0];
    expect(refresh?.init.credentials).toBe('include');
    expect(refresh?.init.body).toBeUndefined();
    expect(await auth.isSignedIn()).toBe(true);
    await auth.logout();
    expect(f.of('/refresh/revoke')[0]?.init.credentials).toBe('include');
    expect(writes).toEqual([]);
    expect(ended).toEqual(['logout']);
  });

  it('after a reload with no refresh cookie, is not signed in and tells no one', async () => {
    const f = scriptedFetch({ '/refresh': [json(400, { error: 'invalid_request', error_description: 'The field "refresh_token" is required.' })] });
    const { auth, ended } = client(f.fetch, { cookieMode: true });
    expect(await auth.isSignedIn()).toBe(false);
    expect(ended).toEqual([]);
  });
});

describe('options', () => {
  it('refuses a base URL that is not http(s) and a negative refreshAheadSeconds', () => {
    expect(() => createAuthClient({ baseUrl: 'auth.example.com' })).toThrow(/baseUrl/);
    expect(() => createAuthClient({ baseUrl: BASE, refreshAheadSeconds: -1 })).toThrow(/refreshAheadSeconds/);
  });
});
