/**
 * Passkeys in headless Chromium (Debian's package, driven by playwright-core) against the page the
 * local gateway serves at GET /passkey-demo, with a CDP virtual authenticator standing in for the
 * platform authenticator (Chrome DevTools Protocol, WebAuthn domain: `WebAuthn.enable`,
 * `WebAuthn.addVirtualAuthenticator`). The page is opened as http://localhost:<port>, the local
 * relying party's origin: WebAuthn refuses IP addresses as RP IDs. The refusals that need bent
 * responses (origin, RP ID hash, concurrency, counters) are tested without a browser in
 * test/e2e/passkeys.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CDPSession, Page } from 'playwright-core';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { launchChromium, type Browser } from '../support/browser.ts';

const PASSWORD = 'browser passkeys demo password';

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly response?: unknown;
  readonly error?: string;
}

let service: LocalService;
let browser: Browser;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;

const payload = (jwt: unknown): Record<string, unknown> =>
  JSON.parse(Buffer.from(String(jwt).split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

const demo = <T = Reply>(expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;

async function addAuthenticator(isUserVerified: boolean): Promise<string> {
  const added = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified,
      automaticPresenceSimulation: true,
    },
  });
  return added.authenticatorId;
}

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD });
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.goto(`http://localhost:${service.port}/passkey-demo`);
  await page.waitForFunction('window.demo !== undefined');
  cdp = await browser.context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  authenticatorId = await addAuthenticator(true);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

describe('passkeys in Chromium with a virtual authenticator', () => {
  let passkeyId: string;

  it('logs in with a password, registers a discoverable passkey on the authenticator, and lists it', async () => {
    expect((await demo("demo.login('demo', " + JSON.stringify(PASSWORD) + ')')).status).toBe(200);
    const registered = await demo("demo.register('Virtual authenticator')");
    expect(registered.status, JSON.stringify(registered)).toBe(201);
    passkeyId = String(registered.body['id']);
    const credentials = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials.credentials).toHaveLength(1);
    expect(credentials.credentials[0]?.isResidentCredential).toBe(true);
    expect(credentials.credentials[0]?.rpId).toBe('localhost');
    const listed = await demo('demo.list()');
    expect(listed.body['passkeys']).toEqual([expect.objectContaining({ id: passkeyId, name: 'Virtual authenticator' })]);
  });

  it('signs out, then signs in with the passkey alone: tokens that work at /whoami, for the demo user, with the passkey amr', async () => {
    const before = (await demo('demo.whoami()')).body['sub'];
    expect((await demo('demo.signOut()')).status).toBe(200);
    const signedIn = await demo('demo.signIn()');
    expect(signedIn.status, JSON.stringify(signedIn)).toBe(200);
    const claims = payload(signedIn.body['access_token']);
    expect(claims['sub']).toBe(before);
    expect(claims['amr']).toEqual(['hwk', 'user', 'mfa']);
    const whoami = await demo('demo.whoami()');
    expect(whoami.status).toBe(200);
    expect(whoami.body['sub']).toBe(before);
  });

  it('refuses the same assertion sent again (its challenge was used)', async () => {
    const signedIn = await demo('demo.signIn()');
    expect(signedIn.status).toBe(200);
    const replay = await demo(`demo.replay(${JSON.stringify(signedIn.response)})`);
    expect(replay.status).toBe(401);
    expect(replay.body['error']).toBe('invalid_grant');
  });

  it('gets no session from an authenticator that does not verify the user (user verification is required)', async () => {
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
    try {
      // Chromium itself refuses: the options require user verification the authenticator cannot give.
      const attempt = await demo('demo.signIn()');
      expect(attempt).toMatchObject({ status: 0, error: 'NotAllowedError' });
      // A client that lowers the requirement (edits the options) gets an assertion without the UV
      // flag; the service refuses it.
      const lowered = await demo(`(async () => {
        const options = await fetch('/login/passkey/options', { method: 'POST' }).then((r) => r.json());
        const response = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: { ...options, userVerification: 'discouraged' } });
        return demo.replay(response);
      })()`);
      expect(lowered.status).toBe(401);
      expect(lowered.body['error']).toBe('invalid_grant');
      expect(String(lowered.body['error_description'])).toMatch(/verif/i);
    } finally {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
    }
  });

  it('removes the passkey; signing in with it (still on the authenticator) is then refused', async () => {
    expect((await demo("demo.login('demo', " + JSON.stringify(PASSWORD) + ')')).status).toBe(200);
    expect((await demo(`demo.remove(${JSON.stringify(passkeyId)})`)).status).toBe(200);
    expect((await demo('demo.list()')).body['passkeys']).toEqual([]);
    expect((await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials).toHaveLength(1);
    const attempt = await demo('demo.signIn()');
    expect(attempt.status).toBe(401);
    expect(attempt.body['error']).toBe('invalid_grant');
  });
});
