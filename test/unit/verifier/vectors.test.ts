/**
 * Conformance: Project Wycheproof (ECDSA P-256 P1363, RSA PKCS#1 v1.5 2048/SHA-256, JWS, JWK) and
 * the RFC 7515 / RFC 7520 examples. Files and their provenance: test/vectors/SOURCE.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compactVerify } from 'jose';
import type { KeyObject } from 'node:crypto';
import { assertCompactShape, DEFAULT_MAX_TOKEN_LENGTH } from '../../../lambdas/core/access-token-verifier.ts';
import { verificationKeyFromJwk, verificationKeyFromSpki, verificationKeysFromJwks } from '../../../lambdas/core/verification-key.ts';
import type { VerificationKey } from '../../../lambdas/core/ports.ts';
import { AccessTokenVerifier } from '../../../lambdas/core/access-token-verifier.ts';
import { InvalidTokenError } from '../../../lambdas/core/errors.ts';

/**
 * The primitive jose verifies with: WebCrypto `verify`, on the CryptoKey jose derives from a
 * KeyObject (`KeyObject#toCryptoKey`), with the RFC 7518 §3.3/§3.4 parameters.
 */
async function verifySignature(key: VerificationKey, message: Buffer, signature: Buffer): Promise<boolean> {
  const params = key.alg === 'ES256' ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const cryptoKey = key.keyObject.toCryptoKey(params, false, ['verify']);
  const algorithm = key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
  return crypto.subtle.verify(algorithm, cryptoKey, signature, message);
}

/** Header members that carry keys or change how the payload is read; the authorizer refuses them. */
const FORBIDDEN_HEADER_MEMBERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'];

/**
 * The signature layer as the authorizer runs it, without its `typ`, `kid` and claim rules (the
 * vectors have none of those): our shape check, then jose `compactVerify` with the allowed
 * algorithms and a key resolver that refuses header keys and lets the KEY decide the algorithm.
 */
async function verifyCompactSignature(token: string, key: VerificationKey, algorithms: readonly ('ES256' | 'RS256')[]): Promise<boolean> {
  try {
    await compactVerify(
      assertCompactShape(token, DEFAULT_MAX_TOKEN_LENGTH),
      (header): KeyObject => {
        if (FORBIDDEN_HEADER_MEMBERS.some((name) => name in header) || header.alg !== key.alg) throw new InvalidTokenError('refused');
        return key.keyObject;
      },
      { algorithms: [...algorithms] },
    );
    return true;
  } catch {
    return false;
  }
}

const load = <T>(path: string): T => JSON.parse(readFileSync(new URL(`../../vectors/${path}`, import.meta.url), 'utf8')) as T;

type Jwk = Record<string, unknown>;
interface VectorTest {
  tcId: number;
  comment: string;
  jws: string;
  result: 'valid' | 'invalid' | 'acceptable';
}
interface JwsFile {
  testGroups: { comment: string; public?: Jwk; private?: Jwk; tests: VectorTest[] }[];
}
interface JwkFile {
  testGroups: { public?: { keys: Jwk[] }; private: { keys: Jwk[] }; tests: VectorTest[] }[];
}
interface RfcExample {
  token: string;
  jwk_public: Jwk;
}

interface SignatureVector {
  tcId: number;
  comment: string;
  msg: string;
  sig: string;
  result: 'valid' | 'invalid' | 'acceptable';
}

function signatureCases(file: string): [string, VerificationKey, SignatureVector][] {
  const data = load<{ testGroups: { publicKeyDer: string; tests: SignatureVector[] }[] }>(`wycheproof/${file}`);
  return data.testGroups.flatMap((group) => {
    const key = verificationKeyFromSpki(Buffer.from(group.publicKeyDer, 'hex'));
    return group.tests.map((t): [string, VerificationKey, SignatureVector] => [`tcId ${t.tcId} ${t.result} ${t.comment}`, key, t]);
  });
}

describe('Wycheproof ECDSA P-256 SHA-256 in IEEE P1363 encoding', () => {
  const cases = signatureCases('ecdsa_secp256r1_sha256_p1363_test.json');
  it('has all 262 vectors', () => expect(cases).toHaveLength(262));
  it.each(cases)('%s', async (_name, key, t) => {
    expect(await verifySignature(key, Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex'))).toBe(t.result === 'valid');
  });
});

describe('Wycheproof RSA PKCS#1 v1.5 2048 SHA-256 (acceptable must be rejected)', () => {
  const cases = signatureCases('rsa_signature_2048_sha256_test.json');
  it('has all 259 vectors', () => expect(cases).toHaveLength(259));
  it.each(cases)('%s', async (_name, key, t) => {
    expect(await verifySignature(key, Buffer.from(t.msg, 'hex'), Buffer.from(t.sig, 'hex'))).toBe(t.result === 'valid');
  });
});

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
/** The public half of a vector's JWK, without its `kid` (ours are RFC 7638 thumbprints). */
function publicPart(jwk: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.includes(name) && name !== 'kid'));
}

describe('Wycheproof JWS vectors: valid ES256/RS256 accepted by the signature layer, all else rejected', () => {
  const data = load<JwsFile>('wycheproof/json_web_signature_test.json');
  const cases: [string, VerificationKey | undefined, string, boolean][] = [];
  for (const group of data.testGroups) {
    let key: VerificationKey | undefined;
    try {
      key = verificationKeyFromJwk(publicPart(group.public ?? group.private ?? {}));
    } catch {
      key = undefined; // HMAC, P-384/521, small RSA, use=enc: keys we refuse to load at all
    }
    for (const t of group.tests) {
      let valid = t.result === 'valid';
      // Label defects (C2SP/wycheproof#236): 367/370 are byte-identical to the valid 357;
      // 372/373 contain '?', which is not base64url.
      if (t.tcId === 367 || t.tcId === 370) valid = true;
      if (t.tcId === 372 || t.tcId === 373) valid = false;
      let alg: unknown;
      try {
        const header: unknown = JSON.parse(Buffer.from(t.jws.split('.')[0] ?? '', 'base64url').toString('utf8'));
        alg = typeof header === 'object' && header !== null && 'alg' in header ? header.alg : undefined;
      } catch {
        alg = undefined;
      }
      const expected = valid && (alg === 'ES256' || alg === 'RS256');
      cases.push([`tcId ${t.tcId} ${group.comment} ${t.comment} → ${expected ? 'accept' : 'reject'}`, key, t.jws, expected]);
    }
  }
  it('has all 401 vectors', () => expect(cases).toHaveLength(401));
  it.each(cases)('%s', async (_name, key, jws, expected) => {
    expect(key !== undefined && (await verifyCompactSignature(jws, key, ['ES256', 'RS256']))).toBe(expected);
  });
});

describe('Wycheproof JWK vectors applied to loading PUBLIC_JWKS', () => {
  const data = load<JwkFile>('wycheproof/json_web_key_test.json');
  for (const group of data.testGroups) {
    const publicSet = group.public;
    for (const t of group.tests) {
      if (publicSet === undefined) {
        it(`tcId ${t.tcId} ${t.comment}: a key set with private or symmetric keys is refused at load`, () => {
          expect(() => verificationKeysFromJwks(group.private)).toThrow(/public keys only/);
        });
        continue;
      }
      it(`tcId ${t.tcId} ${t.comment}: ${t.result === 'valid' ? 'loads and verifies' : 'is refused'}`, async () => {
        let keys: Map<string, VerificationKey> | undefined;
        try {
          keys = verificationKeysFromJwks({ keys: publicSet.keys.map(publicPart) });
        } catch {
          keys = undefined;
        }
        let accepted = false;
        for (const key of keys?.values() ?? []) accepted ||= await verifyCompactSignature(t.jws, key, ['ES256', 'RS256']);
        expect(accepted).toBe(t.result === 'valid');
      });
    }
  }

  it('refuses a JWKS with the same key twice (tcId 4 idea, duplicate kid)', () => {
    const jwk = publicPart(load<RfcExample>('rfc/rfc7515_A3_ES256.json').jwk_public);
    expect(() => verificationKeysFromJwks({ keys: [jwk, jwk] })).toThrow(/twice/);
  });

  it('refuses a JWK whose kid is not its RFC 7638 thumbprint', () => {
    const jwk = { ...publicPart(load<RfcExample>('rfc/rfc7515_A3_ES256.json').jwk_public), kid: 'my-key' };
    expect(() => verificationKeysFromJwks({ keys: [jwk] })).toThrow(/thumbprint/);
  });
});

describe('RFC 7515 Appendix A and RFC 7520 examples', () => {
  it('A.3 (ES256): the signature layer accepts the published token', async () => {
    const v = load<RfcExample>('rfc/rfc7515_A3_ES256.json');
    expect(await verifyCompactSignature(v.token, verificationKeyFromJwk(v.jwk_public), ['ES256'])).toBe(true);
  });

  it('A.2 (RS256): the signature layer accepts the published token', async () => {
    const v = load<RfcExample>('rfc/rfc7515_A2_RS256.json');
    expect(await verifyCompactSignature(v.token, verificationKeyFromJwk(v.jwk_public), ['RS256'])).toBe(true);
  });

  it('A.3 (ES256) with the clock pinned before exp is still refused as an access token (no typ, kid, aud)', async () => {
    const v = load<RfcExample>('rfc/rfc7515_A3_ES256.json');
    const key = verificationKeyFromJwk(v.jwk_public);
    const verifier = new AccessTokenVerifier(
      { algorithms: ['ES256'], issuer: 'joe', audience: 'x', typ: 'at+jwt', clockSkewSeconds: 60, expiryLeewaySeconds: 0, maxTokenLength: 4096 },
      new Map([[key.kid, key]]),
    );
    await expect(verifier.verify(v.token, 1300819379)).rejects.toThrow(InvalidTokenError);
  });

  it('A.3 (ES256) is refused when only RS256 is configured', async () => {
    const v = load<RfcExample>('rfc/rfc7515_A3_ES256.json');
    expect(await verifyCompactSignature(v.token, verificationKeyFromJwk(v.jwk_public), ['RS256'])).toBe(false);
  });

  it('A.5 (alg none) is refused', async () => {
    const v = load<RfcExample>('rfc/rfc7515_A5_unsecured_none.json');
    const es = verificationKeyFromJwk(load<RfcExample>('rfc/rfc7515_A3_ES256.json').jwk_public);
    expect(await verifyCompactSignature(v.token, es, ['ES256', 'RS256'])).toBe(false);
  });

  it('RFC 7520 §4.1 (RS256): the signature layer accepts the cookbook token', async () => {
    const v = load<RfcExample>('rfc/rfc7520_4_1_rsa_v15_signature_RS256.json');
    expect(await verifyCompactSignature(v.token, verificationKeyFromJwk(publicPart(v.jwk_public)), ['RS256'])).toBe(true);
  });

  it.each([
    ['rfc7520_4_2_rsa_pss_signature_PS384.json'],
    ['rfc7520_4_3_ecdsa_signature_ES512.json'],
    ['rfc7520_4_4_hmac_sha2_integrity_protection_HS256.json'],
    ['rfc7797_4_2_b64false_HS256.json'],
  ])('%s is refused (algorithm not allowed, or its key cannot be loaded)', async (file) => {
    const v = load<Partial<RfcExample> & { token: string }>(`rfc/${file}`);
    const rsa = verificationKeyFromJwk(publicPart(load<RfcExample>('rfc/rfc7520_4_1_rsa_v15_signature_RS256.json').jwk_public));
    const es = verificationKeyFromJwk(load<RfcExample>('rfc/rfc7515_A3_ES256.json').jwk_public);
    let own: VerificationKey | undefined;
    try {
      own = verificationKeyFromJwk(publicPart(v.jwk_public ?? {}));
    } catch {
      own = undefined;
    }
    for (const key of [rsa, es, own]) {
      if (key !== undefined) expect(await verifyCompactSignature(v.token, key, ['ES256', 'RS256'])).toBe(false);
    }
  });
});
