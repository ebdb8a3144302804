/**
 * The issuer's policy as plain data, parsed and validated once from an env-like record. The
 * parse is pure; `lambdas/adapters/runtime.ts` calls it with `process.env` at cold start and fails fast.
 */
import { ConfigurationError } from './errors.ts';
import { DEFAULT_SIGNING_ALGORITHM, isSigningAlgorithm, type SigningAlgorithm } from './token-model.ts';

export type ReusePolicy = 'family' | 'user';

export interface IssuerConfig {
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
  readonly alg: SigningAlgorithm;
  readonly accessTokenTtlSeconds: number;
  readonly refreshTokenTtlSeconds: number;
  readonly refreshAbsoluteTtlSeconds: number;
  readonly reusePolicy: ReusePolicy;
  readonly clockSkewSeconds: number;
}

export type EnvRecord = Readonly<Record<string, string | undefined>>;

export function requireString(env: EnvRecord, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ConfigurationError(`Environment variable ${name} is required.`);
  }
  return value.trim();
}

export function optionalInteger(env: EnvRecord, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigurationError(`${name} must be an integer, got "${raw}".`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigurationError(`${name} must be between ${min} and ${max}, got ${value}.`);
  return value;
}

function oneOf<T extends string>(env: EnvRecord, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const found = allowed.find((candidate) => candidate === raw);
  if (found === undefined) throw new ConfigurationError(`${name} must be one of ${allowed.join(', ')}, got "${raw}".`);
  return found;
}

/** The longest lifetimes a deployment may configure (the upper bounds `parseIssuerConfig` accepts). */
export const LONGEST_LIFETIMES = {
  accessTokenTtlSeconds: 3600,
  clockSkewSeconds: 300,
  refreshAbsoluteTtlSeconds: 365 * 86_400,
} as const;

export function parseIssuerConfig(env: EnvRecord): IssuerConfig {
  const alg = env['SIGNING_ALG']?.trim() || DEFAULT_SIGNING_ALGORITHM;
  if (!isSigningAlgorithm(alg)) throw new ConfigurationError(`SIGNING_ALG must be ES256 or RS256, got "${alg}".`);
  const issuer = requireString(env, 'ISSUER');
  if (!/^https?:\/\/[^\s]+$/.test(issuer)) throw new ConfigurationError('ISSUER must be an http(s) URL.');
  const refreshTokenTtlSeconds = optionalInteger(env, 'REFRESH_TOKEN_TTL_SECONDS', 7 * 86_400, 300, 90 * 86_400);
  const refreshAbsoluteTtlSeconds = optionalInteger(env, 'REFRESH_ABSOLUTE_TTL_SECONDS', 30 * 86_400, 300, LONGEST_LIFETIMES.refreshAbsoluteTtlSeconds);
  if (refreshAbsoluteTtlSeconds < refreshTokenTtlSeconds) {
    throw new ConfigurationError('REFRESH_ABSOLUTE_TTL_SECONDS must not be shorter than REFRESH_TOKEN_TTL_SECONDS.');
  }
  return {
    issuer,
    audience: requireString(env, 'AUDIENCE'),
    clientId: env['CLIENT_ID']?.trim() || 'kms-jwt-auth',
    alg,
    // Default 15 minutes, configurable 5–60 (docs/deploy.md, `accessTokenTtlMinutes`).
    accessTokenTtlSeconds: optionalInteger(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, 300, LONGEST_LIFETIMES.accessTokenTtlSeconds),
    refreshTokenTtlSeconds,
    refreshAbsoluteTtlSeconds,
    reusePolicy: oneOf(env, 'REUSE_POLICY', ['family', 'user'] as const, 'family'),
    clockSkewSeconds: optionalInteger(env, 'CLOCK_SKEW_SECONDS', 60, 0, LONGEST_LIFETIMES.clockSkewSeconds),
  };
}
