/**
 * No response, log line or error ever contains a password, a whole token or a key (SECURITY.md,
 * "Errors and log hygiene").
 *
 * Runs a whole lifecycle over HTTP against the local service (the handlers run in this process)
 * while capturing everything written to stdout, stderr and `console.*` — the Powertools logger
 * writes JSON lines to stdout, the authorizer logs through `console` — including the failure paths
 * (wrong password, malformed JSON that carries the password, reuse, a KMS fault, DynamoDB down),
 * at log level DEBUG so that nothing is hidden by the level. Then checks every captured line for
 * every secret the run saw.
 */
import { format } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply, type RequestOptions } from '../support/http-client.ts';

const PASSWORD = 'hygiene-Demo-passw0rd-7c1e';
const WRONG_PASSWORDS = ['wrong-Passw0rd-a91f', 'another-guess-5d2b7', 'x'.repeat(2000)];
const ORIGIN = 'https://app.example';

// ---------------------------------------------------------------------------------------------
// Capture, installed before the service starts so that cold-start lines are captured too.

const captured: string[] = [];
type Write = typeof process.stdout.write;
const originalStdout: Write = process.stdout.write.bind(process.stdout);
const originalStderr: Write = process.stderr.write.bind(process.stderr);
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
const originalConsole = new Map(CONSOLE_METHODS.map((name) => [name, console[name]]));

function record(chunk: unknown): void {
  captured.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk));
}

function interceptingWrite(): Write {
  // Swallowed rather than passed on: the reporter would print thousands of lines.
  return ((chunk: unknown, encodingOrCallback?: unknown, callback?: unknown): boolean => {
    record(chunk);
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') (done as () => void)();
    return true;
  }) as Write;
}

process.stdout.write = interceptingWrite();
process.stderr.write = interceptingWrite();
for (const name of CONSOLE_METHODS) console[name] = (...args: unknown[]) => record(format(...args));

function restoreOutput(): void {
  process.stdout.write = originalStdout;
  process.stderr.write = originalStderr;
  for (const [name, method] of originalConsole) console[name] = method;
}

/** Every captured line (chunks may hold several, or part of one). */
function lines(): string[] {
  return captured.join('').split('\n').filter((line) => line.trim() !== '');
}

// ---------------------------------------------------------------------------------------------
// The service and the secrets it hands out

let service: LocalService;
let dynamo: CountingProxy;
let counted: CountedService | undefined;
const accessTokens = new Set<string>();
const refreshTokens = new Set<string>();
const deviceTokens = new Set<string>();

async function call(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const reply = await request(service.url, method, path, options);
  const parsed = reply.body;
  // Harvest every secret the service hands out, from the body and from Set-Cookie.
  if (typeof parsed['access_token'] === 'string') accessTokens.add(parsed['access_token']);
  if (typeof parsed['refresh_token'] === 'string') refreshTokens.add(parsed['refresh_token']);
  if (typeof parsed['device_token'] === 'string') deviceTokens.add(parsed['device_token']);
  for (const cookie of reply.headers.getSetCookie()) {
    const value = /^__Secure-refresh_token=([^;]+)/.exec(cookie)?.[1];
    if (value !== undefined) refreshTokens.add(value);
    const device = /^__Secure-device_token=([^;]+)/.exec(cookie)?.[1];
    if (device !== undefined) deviceTokens.add(device);
  }
  return reply;
}

const login = (password = PASSWORD, username = 'demo') => call('POST', '/login', { json: { username, password } });
const refresh = (token: unknown) => call('POST', '/refresh', { json: { refresh_token: token } });
const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });

beforeAll(async () => {
  // The Powertools logger reads its own settings from the environment. POWERTOOLS_DEV off: the
  // lines checked are those Lambda writes (one JSON line each), not the pretty-printed form
  // vitest.config.ts asks for elsewhere; DEBUG so that every line a handler can write is checked.
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'DEBUG');
  counted = await startCountedService({ demoPassword: PASSWORD, env: { COOKIE_MODE: 'on', CORS_ORIGINS: ORIGIN } });
  ({ service, dynamo } = counted);
});

afterAll(async () => {
  restoreOutput();
  vi.unstubAllEnvs();
  await counted?.stop();
});

// ---------------------------------------------------------------------------------------------

describe('log hygiene over a whole lifecycle', () => {
  it('runs the lifecycle, its bad inputs and its failures (each step answers as the contract says)', async () => {
    // Discovery.
    expect((await call('GET', '/.well-known/jwks.json')).status).toBe(200);
    expect((await call('GET', '/.well-known/openid-configuration')).status).toBe(200);

    // Login, the sample routes, rotation.
    const first = await login();
    expect(first.status).toBe(200);
    expect((await call('GET', '/whoami', { headers: bearer(first.body['access_token']) })).status).toBe(200);
    expect((await call('GET', '/admin', { headers: bearer(first.body['access_token']) })).status).toBe(403);
    // Two rotations, so that the first token is reuse even within the refresh grace period.
    const second = await refresh((await refresh(first.body['refresh_token'])).body['refresh_token']);
    expect(second.status).toBe(200);
    // A trusted device: its token presented in the body, with the right and a wrong password.
    const device = first.body['device_token'];
    expect((await call('POST', '/login', { json: { username: 'demo', password: PASSWORD, device_token: device } })).status).toBe(200);
    expect((await call('POST', '/login', { json: { username: 'demo', password: WRONG_PASSWORDS[0], device_token: device } })).status).toBe(401);

    // Reuse: the rotated-out token again kills the family.
    expect((await refresh(first.body['refresh_token'])).status).toBe(401);
    expect((await refresh(second.body['refresh_token'])).status).toBe(401);
    expect((await call('GET', '/whoami', { headers: bearer(second.body['access_token']) })).status).toBe(401);

    // Revocation of a refresh token and of an access token.
    const third = await login();
    expect((await call('POST', '/revoke', { json: { token: third.body['refresh_token'], token_type_hint: 'refresh_token' } })).status).toBe(200);
    const fourth = await login();
    expect((await call('POST', '/revoke', { json: { token: fourth.body['access_token'], token_type_hint: 'access_token' } })).status).toBe(200);
    expect((await call('GET', '/whoami', { headers: bearer(fourth.body['access_token']) })).status).toBe(401);
    expect((await call('POST', '/revoke', { json: { token: 'no-such-token' } })).status).toBe(200);

    // Cookie mode: the refresh token travels in Set-Cookie and comes back in Cookie.
    const browser = await call('POST', '/login', { json: { username: 'demo', password: PASSWORD, token_delivery: 'cookie' }, headers: { origin: ORIGIN } });
    expect(browser.status).toBe(200);
    const cookieToken = [...refreshTokens].at(-1);
    const deviceCookie = /__Secure-device_token=([^;]+)/.exec(browser.headers.getSetCookie().join('\n'))?.[1];
    expect(deviceCookie).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await call('POST', '/login', {
      json: { username: 'demo', password: PASSWORD, token_delivery: 'cookie' },
      headers: { origin: ORIGIN, cookie: `__Secure-device_token=${String(deviceCookie)}` },
    });
    expect(again.status).toBe(200);
    const rotated = await call('POST', '/refresh', { headers: { origin: ORIGIN, cookie: `__Secure-refresh_token=${String(cookieToken)}` } });
    expect(rotated.status).toBe(200);
    expect((await call('POST', '/refresh', { headers: { origin: 'https://evil.example', cookie: `__Secure-refresh_token=${String(cookieToken)}` } })).status).toBe(400);

    // Bad inputs, several of them carrying the password or a token.
    for (const wrong of WRONG_PASSWORDS) expect([400, 401]).toContain((await login(wrong)).status);
    expect((await login(WRONG_PASSWORDS[0], 'nobody-here')).status).toBe(401);
    const malformed = [
      `{"username":"demo","password":"${PASSWORD}"`,
      `{"username":"demo","password":"${PASSWORD}","grant_type":"password"}`,
      `{"username":["demo"],"password":"${PASSWORD}"}`,
      `{"username":"demo","password":${JSON.stringify([PASSWORD])}}`,
    ];
    for (const raw of malformed) expect((await call('POST', '/login', { raw, headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await call('POST', '/login', { raw: `username=demo&password=${PASSWORD}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(400);
    const live = await login();
    expect((await call('POST', '/refresh', { raw: `{"refresh_token":"${String(live.body['refresh_token'])}"`, headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect((await call('POST', '/refresh', { json: { refresh_token: live.body['refresh_token'], extra: live.body['access_token'] } })).status).toBe(400);
    expect((await call('POST', '/revoke', { json: { token: ` ${String(live.body['access_token'])}` } })).status).toBe(400);
    expect((await call('GET', '/whoami', { headers: bearer(`${String(live.body['access_token'])}x`) })).status).toBe(401);
    expect((await call('GET', '/whoami', { headers: { authorization: `Basic ${Buffer.from(`demo:${PASSWORD}`).toString('base64')}` } })).status).toBe(401);

    // A KMS fault during login and during refresh: 503, and the log says why without secrets.
    service.kms.injectFault({ errorType: 'KMSInternalException', status: 500, operations: ['Sign'] });
    expect((await login()).status).toBe(503);
    expect((await refresh(live.body['refresh_token'])).status).toBe(503);
    service.kms.clearFaults();

    // DynamoDB down: login, refresh and the authorizer.
    dynamo.failWith({ status: 500, type: 'InternalServerError' });
    expect((await login()).status).toBe(503);
    expect((await refresh(live.body['refresh_token'])).status).toBe(503);
    expect([401, 500]).toContain((await call('GET', '/whoami', { headers: bearer(live.body['access_token']) })).status);
    dynamo.failWith(undefined);

    // Throttling: enough wrong passwords from one place answer 429.
    let throttled = false;
    for (let i = 0; i < 8 && !throttled; i++) throttled = (await login(`throttle-guess-${i}-e3f9a1`, 'demo')).status === 429;
    expect(throttled).toBe(true);

    // Logout everywhere, then everything of the user is dead.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const last = await call('POST', '/login', { json: { username: 'demo', password: PASSWORD }, headers: { 'x-forwarded-for': '203.0.113.9' } });
    // The demo user may be locked out by the throttling above; log out with the live session then.
    const caller = last.status === 200 ? last : live;
    expect((await call('POST', '/logout-all', { headers: bearer(caller.body['access_token']) })).status).toBe(200);
    expect((await call('GET', '/whoami', { headers: bearer(caller.body['access_token']) })).status).toBe(401);
    expect((await refresh(caller.body['refresh_token'])).status).toBe(401);
  });

  it('captured the service logs at all (the check below is not vacuous)', () => {
    const events = new Set(
      lines().flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return typeof parsed === 'object' && parsed !== null && 'event' in parsed ? [String(parsed.event)] : [];
        } catch {
          return [];
        }
      }),
    );
    for (const event of ['login', 'login_failed', 'refresh', 'refresh_token_reuse', 'revoke', 'logout_all', 'request_failed']) {
      expect(events, `no "${event}" log line was captured`).toContain(event);
    }
    expect(lines().some((line) => line.includes('authorizer denied'))).toBe(true);
    expect(lines().some((line) => line.includes('KMSInternalException'))).toBe(true);
    expect(accessTokens.size).toBeGreaterThanOrEqual(6);
    expect(refreshTokens.size).toBeGreaterThanOrEqual(6);
  });

  it('no captured line contains a password that was tried', () => {
    const passwords = [PASSWORD, ...WRONG_PASSWORDS, 'throttle-guess-', Buffer.from(`demo:${PASSWORD}`).toString('base64')];
    for (const line of lines()) {
      for (const password of passwords) expect(line.includes(password), `a log line contains a password: ${line.slice(0, 300)}`).toBe(false);
    }
  });

  it('no captured line contains an access token, its payload or its signature', () => {
    const needles = [...accessTokens].flatMap((token) => {
      const [, payload = '', signature = ''] = token.split('.');
      return [token, payload, signature];
    });
    for (const line of lines()) {
      for (const needle of needles) expect(line.includes(needle), `a log line contains (part of) an access token: ${line.slice(0, 300)}`).toBe(false);
    }
  });

  it('no captured line contains a refresh token or any 40-character piece of one', () => {
    const windows = [...refreshTokens].flatMap((token) => Array.from({ length: token.length - 39 }, (_, i) => token.slice(i, i + 40)));
    expect(windows.length).toBeGreaterThan(0);
    for (const line of lines()) {
      for (const window of windows) expect(line.includes(window), `a log line contains part of a refresh token: ${line.slice(0, 300)}`).toBe(false);
    }
  });

  it('no captured line contains a device token or any 20-character piece of one', () => {
    expect(deviceTokens.size).toBeGreaterThanOrEqual(2);
    const windows = [...deviceTokens].flatMap((token) => Array.from({ length: token.length - 19 }, (_, i) => token.slice(i, i + 20)));
    for (const line of lines()) {
      for (const window of windows) expect(line.includes(window), `a log line contains part of a device token: ${line.slice(0, 300)}`).toBe(false);
    }
  });

  it('no captured line contains key material (PEM blocks or a private JWK member)', () => {
    for (const line of lines()) {
      expect(line, 'a log line contains a PEM block').not.toContain('-----BEGIN');
      expect(line, 'a log line contains a JWK "d" member').not.toMatch(/"d"\s*:/);
    }
  });
});
