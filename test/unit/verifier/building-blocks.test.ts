import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token-verifier.ts';
import { InvalidTokenError } from '../../../lambdas/core/errors.ts';
import { jwkThumbprint } from '../../../lambdas/core/jwk-thumbprint.ts';
import { generateTestKey, keyMap, NOW, policyFor, validToken } from './token-factory.ts';

describe('RFC 7638 thumbprint', () => {
  it('equals jose calculateJwkThumbprint for a P-256 key', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(jwkThumbprint(publicKey)).toBe(await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as never, 'sha256'));
  });
  it('equals jose calculateJwkThumbprint for an RSA 2048 key', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(jwkThumbprint(publicKey)).toBe(await calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as never, 'sha256'));
  });
  it('matches the RFC 7638 §3.1 example', () => {
    const n =
      '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw';
    const key = createPublicKey({ key: { kty: 'RSA', n, e: 'AQAB' }, format: 'jwk' });
    expect(jwkThumbprint(key)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});

describe('spellings of the signature segment', () => {
  // RFC 4648 §3.5 lets a decoder accept non-zero pad bits; what must hold is that a spelling is
  // accepted only when it decodes to the genuine signature bytes, and then yields the same claims.
  it('accepts a variant of the last character only when it decodes to the same signature bytes', async () => {
    const key = generateTestKey('ES256');
    const token = validToken(key);
    const verifier = new AccessTokenVerifier(policyFor(['ES256']), keyMap(key));
    const [h, p, s] = token.split('.') as [string, string, string];
    const genuine = Buffer.from(s, 'base64url');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      const variant = `${s.slice(0, -1)}${c}`;
      const outcome = await verifier.verify(`${h}.${p}.${variant}`, NOW).then(
        (claims) => claims.jti,
        (e: unknown) => {
          if (!(e instanceof InvalidTokenError)) throw e;
          return 'rejected';
        },
      );
      if (!Buffer.from(variant, 'base64url').equals(genuine)) expect(outcome, variant).toBe('rejected');
      else expect(['rejected', 'jti-1'], variant).toContain(outcome);
    }
  });
});
