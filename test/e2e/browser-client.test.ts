/**
 * The client library (`kms-jwt-auth/client`) in cookie mode, in headless Chromium: the page is an
 * app bundled by esbuild (ESM, platform browser) from the package's own client/index.ts, talking
 * to the local service on another localhost origin through the gateway's CORS. What the library
 * must do there: the refresh token never reaches JavaScript, the access token lives in memory only,
 * refresh is one request however many callers ask, logout ends the session, and a dead session is
 * reported as such.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { BROWSER_WAIT_MS, REFRESH_COOKIE, bundleForBrowser, startCookieModeScene, type CookieModeScene } from '../support/browser.ts';

const PASSWORD = 'browser client library password';

/**
 * The app: the client library in cookie mode, driven through `window.app`. Each call answers a
 * plain JSON value: the result, or `{ error, code }` with the error class and its code.
 */
function clientPage(apiOrigin: string): string {
  return `
import { createAuthClient } from './client/index.ts';
const api = ${JSON.stringify(apiOrigin)};
const auth = createAuthClient({ baseUrl: api, cookieMode: true });
const ended = [];
auth.onSessionEnded((reason) => ended.push(reason));
async function settle(promise) {
  try {
    const value = await promise;
    return value === undefined ? { ok: true } : value;
  } catch (error) {
    return { error: error?.name ?? String(error), code: error?.code };
  }
}
async function bounded(promise) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), ${BROWSER_WAIT_MS}))]);
}
window.app = {
  login: (username, password) => settle(bounded(auth.login({ username, password }))),
  whoami: () => settle(bounded(auth.fetch(api + '/whoami').then(async (res) => ({ status: res.status, body: await res.json() })))),
  refresh: () => settle(bounded(auth.refresh())),
  refreshMany: (n) => settle(bounded(Promise.all(Array.from({ length: n }, () => auth.refresh())).then(() => undefined))),
  logout: () => settle(bounded(auth.logout())),
  isSignedIn: () => settle(bounded(auth.isSignedIn())),
  ended: () => [...ended],
  storage: () => ({
    local: Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]),
    session: Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)]),
    cookie: document.cookie,
  }),
};
`;
}

let scene: CookieModeScene;

beforeAll(async () => {
  scene = await startCookieModeScene({ demoPassword: PASSWORD, appScript: (api) => bundleForBrowser(clientPage(api)) });
});

afterAll(async () => {
  await scene?.close();
});

const run = (page: Page, expression: string) => page.evaluate(expression);
const login = (page: Page) => run(page, `app.login('demo', ${JSON.stringify(PASSWORD)})`);

/** The requests (not preflights) that reached the service while `work` ran. */
async function arrivals(work: () => Promise<unknown>) {
  const from = scene.recorder.exchanges.length;
  await work();
  return scene.recorder.exchanges.slice(from).filter((e) => e.method !== 'OPTIONS');
}

describe('the client library in cookie mode, in headless Chromium', () => {
  it('signs in: the refresh token stays in an HttpOnly cookie JavaScript cannot read, and authorized fetch works', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect(await login(page)).toEqual({ status: 'signed_in' });
    const cookie = await scene.refreshCookie();
    expect(cookie).toMatchObject({ path: '/refresh', httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(String(await run(page, 'document.cookie'))).not.toContain(REFRESH_COOKIE);
    expect(await run(page, 'app.isSignedIn()')).toBe(true);
    const me = (await run(page, 'app.whoami()')) as { status: number };
    expect(me.status).toBe(200);
    await page.close();
  });

  it('keeps the access token in memory only: localStorage, sessionStorage and document.cookie stay empty of it', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect(await login(page)).toEqual({ status: 'signed_in' });
    expect(await run(page, 'app.refresh()')).toEqual({ ok: true });
    expect(((await run(page, 'app.whoami()')) as { status: number }).status).toBe(200);
    const storage = (await run(page, 'app.storage()')) as { local: unknown[]; session: unknown[]; cookie: string };
    expect(storage.local).toEqual([]);
    expect(storage.session).toEqual([]);
    expect(storage.cookie).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./);
    await page.close();
  });

  it('refreshes once for many concurrent callers, with only the cookie, from the app origin', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect(await login(page)).toEqual({ status: 'signed_in' });
    const before = await scene.refreshCookie();
    const arrived = await arrivals(async () => expect(await run(page, 'app.refreshMany(10)')).toEqual({ ok: true }));
    expect(arrived).toEqual([
      { method: 'POST', path: '/refresh', origin: scene.appPages.origin, cookie: `${REFRESH_COOKIE}=${before?.value}`, status: 200 },
    ]);
    expect((await scene.refreshCookie())?.value).not.toBe(before?.value);
    await page.close();
  });

  it('logs out: the session ends on the service, Chromium drops the cookie, and the app is signed out', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect(await login(page)).toEqual({ status: 'signed_in' });
    const arrived = await arrivals(async () => expect(await run(page, 'app.logout()')).toEqual({ ok: true }));
    expect(arrived.map((e) => [e.method, e.path, e.status])).toEqual([['POST', '/refresh/revoke', 200]]);
    expect(await scene.refreshCookie()).toBeUndefined();
    expect(await run(page, 'app.isSignedIn()')).toBe(false);
    await page.close();
  });

  it('reports a dead session: a refresh answered invalid_grant ends the session and tells the app', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.appPages.origin);
    expect(await login(page)).toEqual({ status: 'signed_in' });
    const kept = await scene.refreshCookie();
    expect(await run(page, 'app.logout()')).toEqual({ ok: true });
    // A copy of the cookie from before the logout, put back (another tab restored it).
    if (kept !== undefined) await scene.browser.context.addCookies([kept]);
    const arrived = await arrivals(async () => expect(await run(page, 'app.refresh()')).toMatchObject({ error: 'SessionEndedError', code: 'session_ended' }));
    expect(arrived.map((e) => [e.method, e.path, e.status])).toEqual([['POST', '/refresh', 401]]);
    expect(((await run(page, 'app.ended()')) as unknown[]).length).toBeGreaterThan(0);
    await page.close();
  });

  it('cannot sign in from an origin not in CORS_ORIGINS: a network error, and no login reaches the service', async () => {
    await scene.browser.context.clearCookies();
    const page = await scene.openApp(scene.foreignPages.origin);
    const arrived = await arrivals(async () => expect(await login(page)).toMatchObject({ error: 'NetworkError', code: 'network' }));
    expect(arrived).toEqual([]);
    expect(await scene.refreshCookie()).toBeUndefined();
    await page.close();
  });
});
