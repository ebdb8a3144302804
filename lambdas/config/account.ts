/**
 * The account function's settings: where users and sessions live, and the issuer's policy (the
 * service's name for password rules, lifetimes for what it revokes), the KMS key that seals TOTP
 * secrets and the issuer name authenticator apps show. Parsed once per container, and by the CDK
 * construct at synth.
 */
import type { IssuerConfig, PasskeyConfig } from '../core/config.ts';
import { ConfigurationError } from '../core/errors.ts';
import { parseIssuerConfig } from './issuer.ts';
import { requireString, type EnvRecord } from './env.ts';
import { parsePasskeyConfig } from './passkeys.ts';

export interface AccountFunctionConfig {
  readonly policy: IssuerConfig;
  readonly tableName: string;
  /** The symmetric KMS key that seals TOTP secrets (id, ARN or alias). */
  readonly mfaKeyId: string;
  /** The `issuer` of `otpauth://` URIs: the name authenticator apps list the account under. */
  readonly totpIssuer: string;
  /** The WebAuthn relying party for passkey registration; `undefined`: passkeys are off. */
  readonly passkeys: PasskeyConfig | undefined;
}

/** Key Uri Format: the issuer is a label prefix and a parameter; a colon would split the label. */
const TOTP_ISSUER = /^[^:\u0000-\u001f]{1,64}$/;

export function parseAccountFunctionConfig(env: EnvRecord): AccountFunctionConfig {
  const totpIssuer = env['TOTP_ISSUER']?.trim() || 'kms-jwt-auth';
  if (!TOTP_ISSUER.test(totpIssuer)) throw new ConfigurationError('TOTP_ISSUER must be 1–64 characters without a colon or control characters.');
  return {
    policy: parseIssuerConfig(env),
    tableName: requireString(env, 'TABLE_NAME'),
    mfaKeyId: requireString(env, 'MFA_KEY_ID'),
    totpIssuer,
    passkeys: parsePasskeyConfig(env),
  };
}
