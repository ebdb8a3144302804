/**
 * Cookie mode in a real browser (headless Chromium from Debian's packages, driven by playwright-core):
 * a web app on one origin talks to the local service on another origin of the same site, through
 * the gateway's CORS. The page does what a browser app in cookie mode does (login with
 * `token_delivery: "cookie"`, every call with `credentials: "include"`, the access token in memory
 * only), with plain fetch, so what is tested is the service and the browser: which cookie
 * Chromium stores, what JavaScript can see, and what a page of another origin can do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { BROWSER_WAIT_MS, REFRESH_COOKIE, startCookieModeScene, type CookieModeScene } from '../support/browser.ts';

const PASSWORD = 'browser cookie mode password';

/**
 * The app's script: what a browser app in cookie mode sends, and nothing it should not keep. The
 * API origin is a literal in the script, as an app's build would put it there. Each call answers
 * `{ status, body }`, or `{ error }` with the name of what fetch threw (a CORS refusal is a
 * TypeError: the page learns nothing else).
 */
function appScript(apiOrigin: string): string {
  return `
const api = ${JSON.stringify(apiOrigin)};
let accessToken;
async function call(path, init) {
  try {
    const res = await fetch(api + path, { ...init, credentials: 'include', signal: AbortSignal.timeout(${BROWSER_WAIT_MS}) });
    const text = await res.text();
    let body;
    try { body = text === '' ? {} : JSON.parse(text); } catch { body = { text }; }
    return { status: res.status, body };
  } catch (error) {
    return { error: error instanceof Error ? error.name : String(error) };
  }
}
function keep(result) {
  if (result.status === 200 && typeof result.body.access_token === 'string') accessToken = result.body.access_token;
  return result;
}
window.app = {
  login: async (username, password) => keep(await call('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, token_delivery: 'cookie' }),
  })),
  whoami: () => call('/whoami', { headers: { authorization: 'Bearer ' + accessToken } }),
  // No body: the refresh token is the cookie the browser adds. A POST without a body or custom
  // headers is a CORS "simple" request: sent without a preflight, like a form post.
  refresh: async () => keep(await call('/refresh', { method: 'POST' })),
  logout: () => call('/refresh/revoke', { method: 'POST' }),
  // What an attacker's page can do: a simple cross-origin POST, like a form post, whose response it
  // never reads (Chromium's opaque-response blocking may even turn it into a network error).
  blindRefresh: () => call('/refresh', { method: 'POST', mode: 'no-cors' }).then(() => ({ sent: true })),
  accessToken: () => accessToken,
  storage: () => ({
    local: Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]),
    session: Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)]),
    cookie: document.cookie,
  }),
};
`;
}

interface CallResult {
  status?: number;
  body?: Record<string, unknown>;
  error?: string;
  sent?: boolean;
}

let scene: CookieModeScene;

beforeAll(async () => {
  scene = await startCookieModeScene({ demoPassword: PASSWORD, appScript });
});

afterAll(async () => {
  await scene?.close();
});

async function run(page: Page, expression: string): Promise<CallResult> {
  return (await page.evaluate(expression)) as CallResult;
}

const login = (page: Page) => run(page, `app.login('demo', ${JSON.stringify(PASSWORD)})`);

describe('cookie mode in headless Chromium', () => {
  it('logs in: the refresh token is neither in the response body nor visible to JavaScript, and the access token works', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    const res = await login(page);
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('refresh_token');
    expect(typeof res.body?.['access_token']).toBe('string');

    // Chromium accepted the __Secure- cookie over http://localhost and keeps it HttpOnly, Secure,
    // SameSite=Strict, on the refresh path.
    const cookie = await scene.refreshCookie();
    expect(cookie).toMatchObject({ domain: 'localhost', path: '/refresh', httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{114}$/);

    // A page in the cookie's scope sees a script-readable cookie there (the control), never the
    // refresh cookie.
    await scene.browser.context.addCookies([{ name: '__Secure-probe', value: 'visible', domain: 'localhost', path: '/refresh', secure: true, httpOnly: false, sameSite: 'Strict' }]);
    const probe = await scene.browser.context.newPage();
    await probe.goto(`${scene.appPages.origin}/refresh/probe`);
    const seen = String(await probe.evaluate('document.cookie'));
    expect(seen).toContain('__Secure-probe=visible');
    expect(seen).not.toContain(REFRESH_COOKIE);
    expect(seen).not.toContain(cookie?.value);
    await probe.close();

    const me = await run(page, 'app.whoami()');
    expect(me.status).toBe(200);
    // The authorizer let the token through: the context it passed on is this token's.
    const claims = JSON.parse(Buffer.from(String(res.body?.['access_token']).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(me.body?.['jti']).toBe(claims['jti']);
    expect(me.body?.['sub']).toBe(claims['sub']);
    await page.close();
  });

  it('refreshes with only the cookie: a new access token, a rotated cookie, still no refresh token in the body', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect((await login(page)).status).toBe(200);
    const before = await scene.refreshCookie();
    const firstAccess = await page.evaluate('app.accessToken()');

    const res = await run(page, 'app.refresh()');
    expect(res.status).toBe(200);
    expect(res.body).not.toHaveProperty('refresh_token');
    expect(res.body?.['access_token']).not.toBe(firstAccess);
    const after = await scene.refreshCookie();
    expect(after?.value).toMatch(/^[A-Za-z0-9_-]{114}$/);
    expect(after?.value).not.toBe(before?.value);
    expect((await run(page, 'app.whoami()')).status).toBe(200);
    await page.close();
  });

  it('keeps the access token out of localStorage, sessionStorage and document.cookie', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect((await login(page)).status).toBe(200);
    expect((await run(page, 'app.refresh()')).status).toBe(200);
    expect((await run(page, 'app.whoami()')).status).toBe(200);
    const access = String(await page.evaluate('app.accessToken()'));
    expect(access.split('.')).toHaveLength(3);
    const storage = (await page.evaluate('app.storage()')) as { local: unknown[]; session: unknown[]; cookie: string };
    expect(storage.local).toEqual([]);
    expect(storage.session).toEqual([]);
    expect(storage.cookie).not.toContain(access);
    await page.close();
  });

  it('logs out: the session ends, Chromium drops the cookie, and neither a later refresh nor a kept copy of the cookie works', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect((await login(page)).status).toBe(200);
    const kept = await scene.refreshCookie();
    expect(kept).toBeDefined();

    expect((await run(page, 'app.logout()')).status).toBe(200);
    expect(await scene.refreshCookie()).toBeUndefined();
    // The browser no longer sends a cookie: nothing to refresh with.
    const none = await run(page, 'app.refresh()');
    expect(none.status).toBe(400);
    expect(none.body?.['error']).toBe('invalid_request');
    // A copy of the cookie kept from before the logout (another tab, an attacker) is dead.
    if (kept !== undefined) await scene.browser.context.addCookies([kept]);
    const replayed = await run(page, 'app.refresh()');
    expect(replayed.status).toBe(401);
    expect(replayed.body?.['error']).toBe('invalid_grant');
    await page.close();
  });

  it('refuses a page whose origin is not in CORS_ORIGINS: it can neither log in with a cookie nor spend the cookie the browser sends for it', async () => {
    await scene.browser.context.clearCookies();
    const app = await scene.openApp(scene.appPages.origin);
    expect((await login(app)).status).toBe(200);
    const before = await scene.refreshCookie();

    const foreign = await scene.openApp(scene.foreignPages.origin);
    // A JSON login needs a preflight, which the gateway answers without CORS headers for this origin.
    expect(await login(foreign)).toEqual({ error: 'TypeError' });

    // A simple POST needs no preflight, and the same-site browser attaches the SameSite=Strict cookie:
    // only the service's Origin check stands between this page and the session.
    const seen = scene.recorder.exchanges.length;
    expect(await run(foreign, 'app.blindRefresh()')).toEqual({ sent: true });
    const arrived = scene.recorder.exchanges.slice(seen);
    expect(arrived).toEqual([
      { method: 'POST', path: '/refresh', origin: scene.foreignPages.origin, cookie: `${REFRESH_COOKIE}=${before?.value}`, status: 400 },
    ]);

    // Nothing rotated: the cookie is the one from login, and the app's refresh still works with it.
    expect((await scene.refreshCookie())?.value).toBe(before?.value);
    expect((await run(app, 'app.refresh()')).status).toBe(200);
    await Promise.all([app.close(), foreign.close()]);
  });
});
