/**
 * A login with TOTP in cookie mode: the delivery chosen at the password step is kept by the
 * second step, which must come from an allowed Origin too (checked before the code is used).
 */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalService, type LocalService } from '../../local/service.ts';
import { request } from '../support/http-client.ts';

const PASSWORD = 'cookie mode totp passphrase';
const ORIGIN = 'https://app.example';
let service: LocalService;
let secret = '';

const codeAt = (offset: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + offset * 30_000 });

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD, env: { COOKIE_MODE: 'on', CORS_ORIGINS: ORIGIN } });
  const login = await request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
  const bearer = { authorization: `Bearer ${String(login.body['access_token'])}` };
  secret = String((await request(service.url, 'POST', '/mfa/totp/enroll', { json: {}, headers: bearer })).body['secret']);
  expect((await request(service.url, 'POST', '/mfa/totp/confirm', { json: { otp: codeAt(-1) }, headers: bearer })).status).toBe(200);
});

afterAll(async () => {
  await service?.stop();
});

const cookieLogin = async (): Promise<string> => {
  const reply = await request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD, token_delivery: 'cookie' }, headers: { origin: ORIGIN } });
  expect(reply.status).toBe(401);
  expect(reply.body['error']).toBe('mfa_required');
  return String(reply.body['mfa_token']);
};

describe('TOTP in cookie mode', () => {
  it('refuses the second step without an allowed Origin (400), without using the code; with it, sets the refresh cookie', async () => {
    const code = codeAt(0);
    const token = await cookieLogin();
    const foreign = await request(service.url, 'POST', '/login/mfa', { json: { mfa_token: token, otp: code }, headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(400);
    const ok = await request(service.url, 'POST', '/login/mfa', { json: { mfa_token: token, otp: code }, headers: { origin: ORIGIN } });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).not.toHaveProperty('refresh_token');
    expect(ok.headers.getSetCookie().some((cookie) => cookie.startsWith('__Secure-refresh_token='))).toBe(true);
  });
});
