/**
 * The client library in cookie mode against the local service started with COOKIE_MODE=on, from
 * Node: a small cookie jar stands in for the browser (it keeps the Set-Cookie values, sends them
 * back on the paths they are scoped to, and sends the page's Origin, as a browser does with
 * `credentials: 'include'`). The real-browser run of the same flow is headless Chromium's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthClient, type SessionEndedReason, type TokenStorage } from '../../client/index.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';

const PASSWORD = 'cookie mode client password';
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

interface Cookie {
  readonly value: string;
  readonly path: string;
}

/** What a browser does with cookies and Origin for `credentials: 'include'`, and nothing more. */
function browserLikeFetch() {
  const jar = new Map<string, Cookie>();
  const requests: { path: string; credentials: RequestInit['credentials']; body: unknown }[] = [];
  const fetchImpl = (async (input: string | URL | Request, init: RequestInit = {}) => {
    const url = new URL(String(input));
    requests.push({ path: url.pathname, credentials: init.credentials, body: init.body });
    const headers = new Headers(init.headers);
    headers.set('origin', ORIGIN);
    if (init.credentials === 'include') {
      const sent = [...jar].filter(([, c]) => url.pathname === c.path || url.pathname.startsWith(`${c.path}/`)).map(([name, c]) => `${name}=${c.value}`);
      if (sent.length > 0) headers.set('cookie', sent.join('; '));
    }
    const response = await fetch(url, { ...init, headers });
    if (init.credentials === 'include') {
      for (const line of response.headers.getSetCookie()) {
        const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
        const [name = '', value = ''] = pair.split('=');
        const maxAge = attributes.find((a) => a.startsWith('Max-Age='));
        const path = attributes.find((a) => a.startsWith('Path='))?.slice(5) ?? '/';
        if (maxAge === 'Max-Age=0') jar.delete(name);
        else jar.set(name, { value, path });
      }
    }
    return response;
  }) as typeof fetch;
  return { fetch: fetchImpl, jar, requests, count: (path: string) => requests.filter((r) => r.path === path).length };
}

/** A storage that fails the test if the client ever writes to it. */
function untouchableStorage(): TokenStorage & { writes: string[] } {
  const writes: string[] = [];
  return { writes, get: async () => undefined, set: async (key) => void writes.push(key), remove: async () => undefined };
}

describe('the client library in cookie mode', () => {
  it('signs in with the refresh token only in the HttpOnly cookie, refreshes once for 20 concurrent calls, and logs out', async () => {
    const browser = browserLikeFetch();
    const storage = untouchableStorage();
    const auth = createAuthClient({ baseUrl: service.url, cookieMode: true, storage, fetch: browser.fetch });
    expect(await auth.login({ username: 'demo', password: PASSWORD })).toEqual({ status: 'signed_in' });
    expect(browser.jar.get('__Secure-refresh_token')?.path).toBe('/refresh');

    // A page that lives an hour: every call finds the access token expired, and shares one refresh.
    const later = createAuthClient({ baseUrl: service.url, cookieMode: true, storage, fetch: browser.fetch, now: () => Date.now() + 3_600_000 });
    const ended: SessionEndedReason[] = [];
    later.onSessionEnded((reason) => ended.push(reason));
    const answers = await Promise.all(Array.from({ length: 20 }, () => later.fetch(`${service.url}/whoami`)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(browser.count('/refresh')).toBe(1);
    const refresh = browser.requests.find((r) => r.path === '/refresh');
    expect(refresh).toMatchObject({ credentials: 'include', body: undefined });

    const cookie = browser.jar.get('__Secure-refresh_token')?.value;
    await later.logout();
    expect(browser.jar.has('__Secure-refresh_token')).toBe(false);
    // The session is over at the service: the last cookie no longer refreshes.
    const replay = await fetch(`${service.url}/refresh`, { method: 'POST', headers: { origin: ORIGIN, cookie: `__Secure-refresh_token=${cookie ?? ''}` } });
    expect(replay.status).toBe(401);
    expect(await later.isSignedIn()).toBe(false);
    expect(storage.writes).toEqual([]);
    expect(ended).toEqual(['logout']);
  });

  it('after a reload (nothing in memory) is signed in again from the cookie alone', async () => {
    const browser = browserLikeFetch();
    await createAuthClient({ baseUrl: service.url, cookieMode: true, fetch: browser.fetch }).login({ username: 'demo', password: PASSWORD });
    const reloaded = createAuthClient({ baseUrl: service.url, cookieMode: true, fetch: browser.fetch });
    expect(await reloaded.isSignedIn()).toBe(true);
    expect((await reloaded.fetch(`${service.url}/whoami`)).status).toBe(200);
    const fresh = createAuthClient({ baseUrl: service.url, cookieMode: true, fetch: browserLikeFetch().fetch });
    expect(await fresh.isSignedIn()).toBe(false);
  });
});
