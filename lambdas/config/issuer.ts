/**
 * Settings of the functions that issue tokens (login, refresh) or revoke them (revoke). Pure; the
 * production handlers parse `process.env` with it once per container, and the CDK construct
 * parses the environment it deploys with it at synth.
 */
import type { IssuerConfig, PasskeyConfig } from '../core/config.ts';
import { ConfigurationError } from '../core/errors.ts';
import { DEFAULT_SIGNING_ALGORITHM } from '../core/token-model.ts';
import { parseCookieConfig, type CookieConfig } from './cookie.ts';
import { parsePasskeyConfig } from './passkeys.ts';
import { additionalVerifyKeyIds, type EnvRecord, issuerUrl, keyIds, oneOf, optionalInteger, requireString, signingAlgorithm } from './env.ts';

/** The longest lifetimes a deployment may configure (the upper bounds `parseIssuerConfig` accepts). */
export const LONGEST_LIFETIMES = {
  accessTokenTtlSeconds: 3600,
  clockSkewSeconds: 300,
  refreshAbsoluteTtlSeconds: 365 * 86_400,
} as const;

export function parseIssuerConfig(env: EnvRecord): IssuerConfig {
  const alg = signingAlgorithm(env, DEFAULT_SIGNING_ALGORITHM);
  const issuer = issuerUrl(env);
  // Default 15 minutes, configurable 5–60 (docs/deploy.md, `accessTokenTtlMinutes`).
  const accessTokenTtlSeconds = optionalInteger(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 300, LONGEST_LIFETIMES.accessTokenTtlSeconds);
  const refreshTokenTtlSeconds = optionalInteger(env, 'REFRESH_TOKEN_TTL_SECONDS', 7 * 86_400, 300, 90 * 86_400);
  const refreshAbsoluteTtlSeconds = optionalInteger(env, 'REFRESH_ABSOLUTE_TTL_SECONDS', 30 * 86_400, 300, LONGEST_LIFETIMES.refreshAbsoluteTtlSeconds);
  if (refreshAbsoluteTtlSeconds < refreshTokenTtlSeconds) {
    throw new ConfigurationError('REFRESH_ABSOLUTE_TTL_SECONDS must not be shorter than REFRESH_TOKEN_TTL_SECONDS.');
  }
  // A session that ends before its first access token expires cannot be refreshed even once.
  if (refreshTokenTtlSeconds < accessTokenTtlSeconds) {
    throw new ConfigurationError('REFRESH_TOKEN_TTL_SECONDS must not be shorter than ACCESS_TOKEN_TTL_SECONDS.');
  }
  return {
    issuer,
    audience: requireString(env, 'AUDIENCE'),
    clientId: env['CLIENT_ID']?.trim() || 'kms-jwt-auth',
    alg,
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds,
    refreshAbsoluteTtlSeconds,
    reusePolicy: oneOf(env, 'REUSE_POLICY', ['family', 'user'] as const, 'family'),
    clockSkewSeconds: optionalInteger(env, 'CLOCK_SKEW_SECONDS', 60, 0, LONGEST_LIFETIMES.clockSkewSeconds),
    // Default 30 s, configurable 0–60 (0: no grace), the range Cognito offers for the same window.
    refreshGraceSeconds: optionalInteger(env, 'REFRESH_GRACE_SECONDS', 30, 0, 60),
  };
}

/** What the login and refresh functions run on. */
export interface IssuingFunctionConfig {
  readonly policy: IssuerConfig;
  readonly tableName: string;
  /** The KMS key that signs (id, ARN or alias). */
  readonly signingKeyId: string;
  readonly cookie: CookieConfig;
  /** The WebAuthn relying party for passkey sign-in; `undefined`: passkeys are off. */
  readonly passkeys: PasskeyConfig | undefined;
}

export function parseIssuingFunctionConfig(env: EnvRecord): IssuingFunctionConfig {
  return {
    policy: parseIssuerConfig(env),
    tableName: requireString(env, 'TABLE_NAME'),
    signingKeyId: requireString(env, 'SIGNING_KEY_ID'),
    cookie: parseCookieConfig(env),
    passkeys: parsePasskeyConfig(env),
  };
}

/** The login function also opens TOTP secrets (the second step of a login with MFA). */
export interface LoginFunctionConfig extends IssuingFunctionConfig {
  /** The symmetric KMS key that seals TOTP secrets (id, ARN or alias). */
  readonly mfaKeyId: string;
}

export function parseLoginFunctionConfig(env: EnvRecord): LoginFunctionConfig {
  return { ...parseIssuingFunctionConfig(env), mfaKeyId: requireString(env, 'MFA_KEY_ID') };
}

/** The revoke function also verifies access tokens, with the public keys of every verifying key. */
export interface RevokeFunctionConfig extends IssuingFunctionConfig {
  readonly verifyKeyIds: readonly string[];
  /** Keys trusted from elsewhere: they verify before and after rotations alike. */
  readonly additionalVerifyKeyIds: readonly string[];
}

export function parseRevokeFunctionConfig(env: EnvRecord): RevokeFunctionConfig {
  return { ...parseIssuingFunctionConfig(env), verifyKeyIds: keyIds(env, 'VERIFY_KEY_IDS'), additionalVerifyKeyIds: additionalVerifyKeyIds(env) };
}
