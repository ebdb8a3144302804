/**
 * Cookie mode for browsers, over HTTP against the local service started with COOKIE_MODE=on:
 * the refresh token lives only in an HttpOnly; Secure; SameSite=Strict cookie scoped to the refresh
 * path, and cookie requests must come from an allowed Origin (CSRF defence).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalService, type LocalService } from '../../local/service.ts';

const PASSWORD = 'cookie mode demo password';
const ORIGIN = 'https://app.example.com';
let service: LocalService;

beforeAll(async () => {
  service = await startLocalService({
    port: 0,
    demoPassword: PASSWORD,
    env: { COOKIE_MODE: 'on', CORS_ORIGINS: ORIGIN, REFRESH_COOKIE_PATH: '/refresh' },
  });
});

afterAll(async () => {
  await service?.stop();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

function cookieValue(setCookie: string | null): string {
  const match = /__Secure-refresh_token=([^;]*)/.exec(setCookie ?? '');
  if (match === null) throw new Error('no refresh cookie');
  return match[1] ?? '';
}

const loginWithCookie = () =>
  post('/login', { username: 'demo', password: PASSWORD, token_delivery: 'cookie' }, { origin: ORIGIN });

describe('cookie mode', () => {
  it('puts the refresh token only in an HttpOnly, Secure, SameSite=Strict cookie scoped to the refresh path', async () => {
    const res = await loginWithCookie();
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('refresh_token');
    expect(typeof res.body['access_token']).toBe('string');
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^__Secure-refresh_token=[A-Za-z0-9_-]{114};/);
    // Attributes after a '; ' (the cookie's name, __Secure-…, would satisfy a bare 'Secure').
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/refresh']) expect(setCookie).toMatch(new RegExp(`;\\s*${attribute}(;|$)`));
    expect(setCookie).toMatch(/Max-Age=\d+/);
  });

  it('puts the device token only in an HttpOnly, Secure, SameSite=Strict cookie scoped to the login path, and trusts it from there', async () => {
    const res = await loginWithCookie();
    expect(res.body).not.toHaveProperty('device_token');
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('__Secure-device_token=')) ?? '';
    expect(setCookie).toMatch(/^__Secure-device_token=[A-Za-z0-9_-]{43};/);
    for (const attribute of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/login']) expect(setCookie).toMatch(new RegExp(`;\\s*${attribute}(;|$)`));
    expect(setCookie).toMatch(/Max-Age=7776000(;|$)/);
    const device = /^__Secure-device_token=([^;]*)/.exec(setCookie)?.[1] ?? '';
    // Presented back as the browser would: the same device, renewed.
    const again = await post('/login', { username: 'demo', password: PASSWORD, token_delivery: 'cookie' }, { origin: ORIGIN, cookie: `__Secure-device_token=${device}` });
    expect(again.status).toBe(200);
    expect(again.headers.getSetCookie().find((c) => c.startsWith('__Secure-device_token='))).toMatch(new RegExp(`^__Secure-device_token=${device};`));
    // A second device cookie is no device at all (a new one is issued), never an error.
    const two = await post('/login', { username: 'demo', password: PASSWORD, token_delivery: 'cookie' }, { origin: ORIGIN, cookie: `__Secure-device_token=${device}; __Secure-device_token=${device}` });
    expect(two.status).toBe(200);
    expect(two.headers.getSetCookie().find((c) => c.startsWith('__Secure-device_token='))).not.toMatch(new RegExp(`^__Secure-device_token=${device};`));
  });

  it('refreshes from the cookie and rotates it', async () => {
    const first = cookieValue((await loginWithCookie()).headers.get('set-cookie'));
    const res = await post('/refresh', undefined, { origin: ORIGIN, cookie: `__Secure-refresh_token=${first}` });
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('refresh_token');
    const second = cookieValue(res.headers.get('set-cookie'));
    expect(second).not.toBe(first);
  });

  it('refuses a cookie refresh from a foreign Origin or without one (CSRF), changing nothing', async () => {
    const token = cookieValue((await loginWithCookie()).headers.get('set-cookie'));
    const foreign = await post('/refresh', undefined, { origin: 'https://evil.example', cookie: `__Secure-refresh_token=${token}` });
    expect(foreign.status).toBe(400);
    const none = await post('/refresh', undefined, { cookie: `__Secure-refresh_token=${token}` });
    expect(none.status).toBe(400);
    // Nothing was consumed: the token still refreshes from the right origin.
    expect((await post('/refresh', undefined, { origin: ORIGIN, cookie: `__Secure-refresh_token=${token}` })).status).toBe(200);
  });

  it('refreshes from the cookie with a form request too, and only from an allowed Origin (a cross-site HTML form is the classic CSRF)', async () => {
    const token = cookieValue((await loginWithCookie()).headers.get('set-cookie'));
    const formPost = (origin: string) =>
      fetch(`${service.url}/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie: `__Secure-refresh_token=${token}` },
        body: 'grant_type=refresh_token',
      });
    const foreign = await formPost('https://evil.example');
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    const res = await formPost(ORIGIN);
    expect(res.status).toBe(200);
    expect(await res.json()).not.toHaveProperty('refresh_token');
    expect(cookieValue(res.headers.get('set-cookie'))).not.toBe(token);
  });

  it('refuses cookie delivery at login from a foreign Origin', async () => {
    const res = await post('/login', { username: 'demo', password: PASSWORD, token_delivery: 'cookie' }, { origin: 'https://evil.example' });
    expect(res.status).toBe(400);
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('refuses two refresh cookies in one request', async () => {
    const token = cookieValue((await loginWithCookie()).headers.get('set-cookie'));
    const res = await post('/refresh', undefined, { origin: ORIGIN, cookie: `__Secure-refresh_token=${token}; __Secure-refresh_token=${token}` });
    expect(res.status).toBe(400);
  });

  it('logs a browser out with POST /refresh/revoke: the session ends and the cookie is cleared', async () => {
    const token = cookieValue((await loginWithCookie()).headers.get('set-cookie'));
    const res = await post('/refresh/revoke', undefined, { origin: ORIGIN, cookie: `__Secure-refresh_token=${token}` });
    expect(res.status).toBe(200);
    const cleared = res.headers.get('set-cookie') ?? '';
    expect(cleared).toMatch(/^__Secure-refresh_token=;/);
    for (const attribute of ['Max-Age=0', 'Path=/refresh', 'HttpOnly', 'Secure', 'SameSite=Strict']) expect(cleared).toMatch(new RegExp(`;\\s*${attribute}(;|$)`));
    const after = await post('/refresh', undefined, { origin: ORIGIN, cookie: `__Secure-refresh_token=${token}` });
    expect(after.status).toBe(401);
    expect(after.body['error']).toBe('invalid_grant');
    // Idempotent (RFC 7009 §2.2): again, or with no cookie at all, still 200.
    expect((await post('/refresh/revoke', undefined, { origin: ORIGIN, cookie: `__Secure-refresh_token=${token}` })).status).toBe(200);
    expect((await post('/refresh/revoke', undefined, { origin: ORIGIN })).status).toBe(200);
  });

  it('refuses a cookie logout from a foreign Origin, with a body, or with two cookies, changing nothing', async () => {
    const token = cookieValue((await loginWithCookie()).headers.get('set-cookie'));
    const cookie = `__Secure-refresh_token=${token}`;
    const foreign = await post('/refresh/revoke', undefined, { origin: 'https://evil.example', cookie });
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    expect((await post('/refresh/revoke', undefined, { cookie })).status).toBe(400);
    expect((await post('/refresh/revoke', { token }, { origin: ORIGIN, cookie })).status).toBe(400);
    expect((await post('/refresh/revoke', undefined, { origin: ORIGIN, cookie: `${cookie}; ${cookie}` })).status).toBe(400);
    // The session is intact: the cookie still refreshes.
    expect((await post('/refresh', undefined, { origin: ORIGIN, cookie })).status).toBe(200);
  });

  it('answers CORS preflights as the stack configures them: allowed origin with credentials, others refused', async () => {
    const preflight = (origin: string) =>
      fetch(`${service.url}/refresh`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight(ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    const refused = await preflight('https://evil.example');
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    expect(refused.headers.get('access-control-allow-methods')).toBeNull();
    // Actual responses name the allowed origin only.
    expect((await loginWithCookie()).headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const foreign = await post('/login', { username: 'demo', password: PASSWORD }, { origin: 'https://evil.example' });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('still serves body delivery to mobile clients', async () => {
    const res = await post('/login', { username: 'demo', password: PASSWORD });
    expect(res.status).toBe(200);
    expect(typeof res.body['refresh_token']).toBe('string');
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});
