/** The MFA settings of the login and account functions, parsed from a plain object. */
import { describe, expect, it } from 'vitest';
import { parseAccountFunctionConfig } from '../../../lambdas/config/account.ts';
import { parseLoginFunctionConfig } from '../../../lambdas/config/issuer.ts';

const BASE = {
  ISSUER: 'https://auth.example.com',
  AUDIENCE: 'api',
  TABLE_NAME: 'auth',
  SIGNING_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/1',
  MFA_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/2',
} as const;

describe('MFA settings', () => {
  it('login: the MFA key besides the issuing settings', () => {
    expect(parseLoginFunctionConfig(BASE)).toMatchObject({ signingKeyId: BASE.SIGNING_KEY_ID, mfaKeyId: BASE.MFA_KEY_ID });
  });

  it('login and account refuse a missing MFA key, naming the variable', () => {
    expect(() => parseLoginFunctionConfig({ ...BASE, MFA_KEY_ID: undefined })).toThrow(/MFA_KEY_ID/);
    expect(() => parseAccountFunctionConfig({ ...BASE, MFA_KEY_ID: ' ' })).toThrow(/MFA_KEY_ID/);
  });

  it('account: the MFA key and the issuer name authenticator apps show, kms-jwt-auth by default', () => {
    expect(parseAccountFunctionConfig(BASE)).toMatchObject({ mfaKeyId: BASE.MFA_KEY_ID, totpIssuer: 'kms-jwt-auth' });
    expect(parseAccountFunctionConfig({ ...BASE, TOTP_ISSUER: 'Example Corp' }).totpIssuer).toBe('Example Corp');
  });

  it('account refuses an issuer name with a colon (it would split the otpauth label) or over 64 characters', () => {
    expect(() => parseAccountFunctionConfig({ ...BASE, TOTP_ISSUER: 'Example:Corp' })).toThrow(/TOTP_ISSUER/);
    expect(() => parseAccountFunctionConfig({ ...BASE, TOTP_ISSUER: 'x'.repeat(65) })).toThrow(/TOTP_ISSUER/);
  });
});
