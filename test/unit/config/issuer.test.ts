import { describe, expect, it } from 'vitest';
import type { EnvRecord } from '../../../lambdas/config/env.ts';
import { parseIssuerConfig } from '../../../lambdas/config/issuer.ts';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';

const BASE = { ISSUER: 'https://auth.example.com', AUDIENCE: 'https://api.example.com' } as const;
const parse = (extra: EnvRecord = {}) => parseIssuerConfig({ ...BASE, ...extra });
const rejects = (extra: EnvRecord, message?: RegExp): void => {
  expect(() => parse(extra)).toThrow(ConfigurationError);
  if (message !== undefined) expect(() => parse(extra)).toThrow(message);
};

describe('parseIssuerConfig refresh grace period', () => {
  const env = { ISSUER: 'https://auth.example.com', AUDIENCE: 'https://api.example.com' };
  it('accepts 0 (no grace) through 60 seconds', () => {
    expect(parseIssuerConfig({ ...env, REFRESH_GRACE_SECONDS: '0' }).refreshGraceSeconds).toBe(0);
    expect(parseIssuerConfig({ ...env, REFRESH_GRACE_SECONDS: '60' }).refreshGraceSeconds).toBe(60);
  });
  it('refuses more than 60 seconds, a negative value or a fraction, naming the setting', () => {
    for (const value of ['61', '-1', '1.5', 'soon']) {
      expect(() => parseIssuerConfig({ ...env, REFRESH_GRACE_SECONDS: value })).toThrow(/REFRESH_GRACE_SECONDS/);
    }
  });
});

describe('parseIssuerConfig defaults', () => {
  it('uses RS256, 900 s access tokens, 7 d sliding, 30 d absolute, family reuse policy, 60 s skew and a 30 s refresh grace period', () => {
    expect(parse()).toEqual({
      issuer: 'https://auth.example.com',
      audience: 'https://api.example.com',
      clientId: 'kms-jwt-auth',
      alg: 'RS256',
      accessTokenTtlSeconds: 900,
      refreshTokenTtlSeconds: 604_800,
      refreshAbsoluteTtlSeconds: 2_592_000,
      reusePolicy: 'family',
      clockSkewSeconds: 60,
      refreshGraceSeconds: 30,
    });
  });
  it('treats blank optional variables as unset', () => {
    expect(parse({ SIGNING_ALG: ' ', ACCESS_TOKEN_TTL_SECONDS: '', REUSE_POLICY: '  ' })).toMatchObject({
      alg: 'RS256',
      accessTokenTtlSeconds: 900,
      reusePolicy: 'family',
    });
  });
  it('accepts ES256 and the user reuse policy', () => {
    expect(parse({ SIGNING_ALG: 'ES256', REUSE_POLICY: 'user' })).toMatchObject({ alg: 'ES256', reusePolicy: 'user' });
  });
  it('trims the issuer and audience', () => {
    expect(parse({ ISSUER: ' https://a.example ', AUDIENCE: ' api ' })).toMatchObject({ issuer: 'https://a.example', audience: 'api' });
  });
});

describe('ACCESS_TOKEN_TTL_SECONDS bounds (5 to 60 minutes)', () => {
  it('accepts 300', () => expect(parse({ ACCESS_TOKEN_TTL_SECONDS: '300' }).accessTokenTtlSeconds).toBe(300));
  it('accepts 3600', () => expect(parse({ ACCESS_TOKEN_TTL_SECONDS: '3600' }).accessTokenTtlSeconds).toBe(3600));
  it('rejects 299', () => rejects({ ACCESS_TOKEN_TTL_SECONDS: '299' }, /ACCESS_TOKEN_TTL_SECONDS/));
  it('rejects 3601', () => rejects({ ACCESS_TOKEN_TTL_SECONDS: '3601' }, /ACCESS_TOKEN_TTL_SECONDS/));
  for (const raw of ['-900', '900.5', '9e2', '0x384', 'nine hundred']) {
    it(`rejects the non-integer ${JSON.stringify(raw)}`, () => rejects({ ACCESS_TOKEN_TTL_SECONDS: raw }, /integer/));
  }
});

describe('other bounds', () => {
  it('rejects a sliding refresh TTL below 300 s', () => rejects({ REFRESH_TOKEN_TTL_SECONDS: '299' }, /REFRESH_TOKEN_TTL_SECONDS/));
  it('rejects a sliding refresh TTL above 90 days', () => rejects({ REFRESH_TOKEN_TTL_SECONDS: String(90 * 86_400 + 1) }));
  it('rejects an absolute refresh TTL above 365 days', () => rejects({ REFRESH_ABSOLUTE_TTL_SECONDS: String(365 * 86_400 + 1) }));
  it('rejects a clock skew above 300 s', () => rejects({ CLOCK_SKEW_SECONDS: '301' }, /CLOCK_SKEW_SECONDS/));
  it('accepts a clock skew of 0', () => expect(parse({ CLOCK_SKEW_SECONDS: '0' }).clockSkewSeconds).toBe(0));
  it('rejects an absolute lifetime shorter than the sliding window', () =>
    rejects({ REFRESH_TOKEN_TTL_SECONDS: '86400', REFRESH_ABSOLUTE_TTL_SECONDS: '86399' }, /must not be shorter/));
  it('rejects the default 30 d absolute lifetime under a 31 d sliding window', () =>
    rejects({ REFRESH_TOKEN_TTL_SECONDS: String(31 * 86_400) }, /must not be shorter/));
  it('accepts an absolute lifetime equal to the sliding window', () => {
    expect(parse({ REFRESH_TOKEN_TTL_SECONDS: '86400', REFRESH_ABSOLUTE_TTL_SECONDS: '86400' }).refreshAbsoluteTtlSeconds).toBe(86_400);
  });
  it('rejects an unknown reuse policy', () => rejects({ REUSE_POLICY: 'session' }, /REUSE_POLICY/));
});

describe('required and validated values', () => {
  for (const alg of ['HS256', 'none', 'es256', 'ES384', 'PS256']) {
    it(`rejects SIGNING_ALG ${alg}`, () => rejects({ SIGNING_ALG: alg }, /SIGNING_ALG/));
  }
  it('rejects a missing ISSUER', () => expect(() => parseIssuerConfig({ AUDIENCE: 'x' })).toThrow(/ISSUER/));
  it('rejects a blank ISSUER', () => rejects({ ISSUER: '   ' }, /ISSUER/));
  it('rejects a missing AUDIENCE', () => expect(() => parseIssuerConfig({ ISSUER: BASE.ISSUER })).toThrow(ConfigurationError));
  it('rejects a blank AUDIENCE', () => rejects({ AUDIENCE: '' }, /AUDIENCE/));
  for (const issuer of ['auth.example.com', 'ftp://auth.example.com', 'https://', 'https://auth example.com', 'javascript:alert(1)']) {
    it(`rejects the non-URL issuer ${JSON.stringify(issuer)}`, () => rejects({ ISSUER: issuer }, /ISSUER must be an http\(s\) URL/));
  }
});
