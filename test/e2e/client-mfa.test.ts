/**
 * The client library's MFA step against the local service: `login` reports `mfa_required`,
 * `completeMfa` with a code from the user's authenticator (made here with `otpauth` from the
 * enrolment's secret) signs in and keeps the session like `login`, and refused codes are typed.
 */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthClient, InvalidSecondFactorError, memoryStorage } from '../../client/index.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';

const PASSWORD = 'client library demo password';
let service: LocalService;
let secret = '';
let recoveryCodes: string[] = [];

const codeAt = (offset: number): string =>
  TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: Date.now() + offset * 30_000 });

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD });
  // The demo user turns TOTP on with the client's authorized fetch, as an app's settings screen would.
  const auth = createAuthClient({ baseUrl: service.url, storage: memoryStorage() });
  expect(await auth.login({ username: 'demo', password: PASSWORD })).toEqual({ status: 'signed_in' });
  const post = (path: string, body: unknown) =>
    auth.fetch(`${service.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  secret = ((await (await post('/mfa/totp/enroll', {})).json()) as { secret: string }).secret;
  const confirmed = await post('/mfa/totp/confirm', { otp: codeAt(-1) });
  expect(confirmed.status).toBe(200);
  recoveryCodes = ((await confirmed.json()) as { recovery_codes: string[] }).recovery_codes;
});

afterAll(async () => {
  await service?.stop();
});

describe('the client library with a second factor', () => {
  it('login answers mfa_required; completeMfa with a code signs in, and the session calls the API', async () => {
    const storage = memoryStorage();
    const auth = createAuthClient({ baseUrl: service.url, storage });
    const first = await auth.login({ username: 'demo', password: PASSWORD });
    expect(first.status).toBe('mfa_required');
    expect(await auth.isSignedIn()).toBe(false);
    if (first.status !== 'mfa_required') return;
    await auth.completeMfa({ mfaToken: first.mfaToken, otp: codeAt(0) });
    expect(await auth.isSignedIn()).toBe(true);
    const whoami = await auth.fetch(`${service.url}/whoami`);
    expect(whoami.status).toBe(200);
    expect(await storage.get('kms-jwt-auth.device_token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('a wrong code is InvalidSecondFactorError and the same mfa_token still completes with a recovery code', async () => {
    const auth = createAuthClient({ baseUrl: service.url, storage: memoryStorage() });
    const first = await auth.login({ username: 'demo', password: PASSWORD });
    if (first.status !== 'mfa_required') throw new Error('expected mfa_required');
    const wrong = String((Number(codeAt(0)) + 1) % 1_000_000).padStart(6, '0');
    const refused = await auth.completeMfa({ mfaToken: first.mfaToken, otp: wrong }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(InvalidSecondFactorError);
    expect(await auth.isSignedIn()).toBe(false);
    await auth.completeMfa({ mfaToken: first.mfaToken, recoveryCode: recoveryCodes[0] ?? '' });
    expect(await auth.isSignedIn()).toBe(true);
  });
});
