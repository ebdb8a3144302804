import { describe, expect, it } from 'vitest';
import { parsePasskeyConfig } from '../../../lambdas/config/passkeys.ts';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';

const ISSUER = 'https://auth.example.com';

describe('the passkey relying party (PASSKEY_RP_ID, PASSKEY_ORIGINS, PASSKEY_RP_NAME)', () => {
  it("defaults to the issuer's host and origin", () => {
    expect(parsePasskeyConfig({ ISSUER })).toEqual({ rpId: 'auth.example.com', rpName: 'auth.example.com', origins: ['https://auth.example.com'] });
  });

  it('takes an RP ID that is a registrable suffix of the app origins, and a name', () => {
    expect(
      parsePasskeyConfig({ ISSUER, PASSKEY_RP_ID: 'example.com', PASSKEY_ORIGINS: 'https://app.example.com, https://example.com', PASSKEY_RP_NAME: 'Example' }),
    ).toEqual({ rpId: 'example.com', rpName: 'Example', origins: ['https://app.example.com', 'https://example.com'] });
  });

  it('is off (no default) when the issuer is on an IP address or plain http, so the routes answer 404', () => {
    expect(parsePasskeyConfig({ ISSUER: 'http://127.0.0.1:3000' })).toBeUndefined();
    expect(parsePasskeyConfig({ ISSUER: 'http://[::1]:3000' })).toBeUndefined();
    expect(parsePasskeyConfig({ ISSUER: 'http://issuer.test' })).toBeUndefined();
  });

  it('accepts http only for localhost (a secure context)', () => {
    expect(parsePasskeyConfig({ ISSUER: 'http://127.0.0.1:3000', PASSKEY_RP_ID: 'localhost', PASSKEY_ORIGINS: 'http://localhost:3000' })?.origins).toEqual([
      'http://localhost:3000',
    ]);
    expect(() => parsePasskeyConfig({ ISSUER, PASSKEY_RP_ID: 'example.com', PASSKEY_ORIGINS: 'http://app.example.com' })).toThrow(/https/);
  });

  it.each([
    ['an IP address', { PASSKEY_RP_ID: '10.0.0.1' }, /domain/],
    ['a URL', { PASSKEY_RP_ID: 'https://example.com' }, /domain/],
    ['upper case', { PASSKEY_RP_ID: 'Example.com' }, /domain/],
    ['an origin off the RP ID', { PASSKEY_RP_ID: 'example.com', PASSKEY_ORIGINS: 'https://example.org' }, /not on the RP ID/],
    ['an origin that only ends like the RP ID', { PASSKEY_RP_ID: 'example.com', PASSKEY_ORIGINS: 'https://badexample.com' }, /not on the RP ID/],
    ['an origin with a path', { PASSKEY_RP_ID: 'example.com', PASSKEY_ORIGINS: 'https://app.example.com/login' }, /bare origins/],
    ['an origin that is not a URL', { PASSKEY_RP_ID: 'example.com', PASSKEY_ORIGINS: 'app.example.com' }, /origins such as/],
    ['a name over 64 characters', { PASSKEY_RP_NAME: 'x'.repeat(65) }, /PASSKEY_RP_NAME/],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    const parse = () => parsePasskeyConfig({ ISSUER, ...env });
    expect(parse).toThrow(ConfigurationError);
    expect(parse).toThrow(message);
    expect(parse).toThrow(/PASSKEY_/);
  });
});
