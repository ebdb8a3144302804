/**
 * Reading one variable of a function's settings. Every parser in this folder takes a plain record
 * (`process.env` in Lambda, a literal in tests and `npm start`, the environment the CDK construct
 * is about to deploy at synth) and throws `ConfigurationError` naming the variable: a function
 * with a bad setting must refuse to start, never fall back to something permissive.
 */
import { ConfigurationError } from '../core/errors.ts';
import { isSigningAlgorithm, type SigningAlgorithm } from '../core/token-model.ts';

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

export function oneOf<T extends string>(env: EnvRecord, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const found = allowed.find((candidate) => candidate === raw);
  if (found === undefined) throw new ConfigurationError(`${name} must be one of ${allowed.join(', ')}, got "${raw}".`);
  return found;
}

/** A comma-separated list, blanks dropped; `undefined` or blank gives `[]`. */
export function commaList(env: EnvRecord, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/**
 * `ADDITIONAL_VERIFY_KEY_IDS`: keys managed elsewhere that this deployment trusts on purpose
 * (another issuer's), which keep verifying whatever the key registry says; possibly none.
 */
export function additionalVerifyKeyIds(env: EnvRecord): string[] {
  return commaList(env, 'ADDITIONAL_VERIFY_KEY_IDS');
}

/** KMS key ids or ARNs, at least one. */
export function keyIds(env: EnvRecord, name: string): string[] {
  requireString(env, name);
  const ids = commaList(env, name);
  if (ids.length === 0) throw new ConfigurationError(`${name} must list at least one KMS key.`);
  return ids;
}

/** `ISSUER`: the `iss` of every token and the base of the discovery document (RFC 8414 §2). */
export function issuerUrl(env: EnvRecord): string {
  const issuer = requireString(env, 'ISSUER');
  if (!/^https?:\/\/[^\s]+$/.test(issuer)) throw new ConfigurationError('ISSUER must be an http(s) URL.');
  return issuer;
}

/** `SIGNING_ALG`: the one algorithm the signing key makes (RS256 by default). */
export function signingAlgorithm(env: EnvRecord, fallback: SigningAlgorithm): SigningAlgorithm {
  const alg = env['SIGNING_ALG']?.trim() || fallback;
  if (!isSigningAlgorithm(alg)) throw new ConfigurationError(`SIGNING_ALG must be ES256 or RS256, got "${alg}".`);
  return alg;
}
