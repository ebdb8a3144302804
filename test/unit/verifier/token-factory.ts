/**
 * Test-only token minting with node:crypto: keys are generated per run, and headers/payloads can
 * be given as raw JSON text so that duplicate members and odd spellings can be built byte for byte.
 */
import { generateKeyPairSync, sign as cryptoSign, constants } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createVerificationKey } from '../../../lambdas/core/verification-key.ts';
import type { VerificationKey } from '../../../lambdas/core/ports.ts';
import type { VerificationPolicy } from '../../../lambdas/core/access-token-verifier.ts';

export const ISS = 'https://auth.example.test';
export const AUD = 'https://api.example.test';
export const NOW = 1_900_000_000;

export interface TestKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly verificationKey: VerificationKey;
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256';
}

export function generateTestKey(alg: 'ES256' | 'RS256'): TestKey {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const verificationKey = createVerificationKey(publicKey);
  return { privateKey, publicKey, verificationKey, kid: verificationKey.kid, alg };
}

export const b64 = (text: string | Buffer): string => Buffer.from(text).toString('base64url');

export function signRaw(signingInput: string, key: TestKey): Buffer {
  return key.alg === 'ES256'
    ? cryptoSign('sha256', Buffer.from(signingInput), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : cryptoSign('sha256', Buffer.from(signingInput), { key: key.privateKey, padding: constants.RSA_PKCS1_PADDING });
}

/** `b64(h).b64(p).b64(sig)`; h and p may be objects or exact JSON text. */
export function signToken(header: object | string, payload: object | string, key: TestKey): string {
  const h = b64(typeof header === 'string' ? header : JSON.stringify(header));
  const p = b64(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return `${h}.${p}.${b64(signRaw(`${h}.${p}`, key))}`;
}

export function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISS,
    sub: 'u1',
    aud: AUD,
    exp: NOW + 300,
    iat: NOW,
    nbf: NOW,
    jti: 'jti-1',
    client_id: 'mobile',
    scope: 'openid profile',
    sid: 'sid-1',
    auth_time: NOW - 100,
    ...overrides,
  };
}

export function headerFor(key: TestKey, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...overrides };
}

/** The baseline valid token every attack starts from, with our full claim set. */
export function validToken(key: TestKey, payloadOverrides: Record<string, unknown> = {}): string {
  return signToken(headerFor(key), claims(payloadOverrides), key);
}

export function policyFor(algorithms: readonly ('ES256' | 'RS256')[] = ['ES256']): VerificationPolicy {
  return {
    algorithms,
    issuer: ISS,
    audience: AUD,
    typ: 'at+jwt',
    clockSkewSeconds: 60,
    expiryLeewaySeconds: 0,
    maxTokenLength: 4096,
  };
}

export function keyMap(...keys: TestKey[]): Map<string, VerificationKey> {
  return new Map(keys.map((k) => [k.kid, k.verificationKey]));
}
