/**
 * A public key the access-token verifier may use, with everything the hot path needs
 * precomputed once: the `KeyObject`, the algorithm the KEY decides (RFC 8725 §3.1: never the
 * header), the exact signature length, the scalar bound for the range check, and the options
 * object handed to `crypto.verify`.
 *
 * Loaded from a KMS `GetPublicKey` DER SubjectPublicKeyInfo or from a JWKS delivered at deploy
 * time (`verificationKeysFromJwks`); both end in `createVerificationKey`.
 */
import { constants, createPublicKey } from 'node:crypto';
import type { JsonWebKey, KeyObject, VerifyKeyObjectInput } from 'node:crypto';
import { ConfigurationError } from './errors.ts';
import { jwkThumbprint } from './jwk-thumbprint.ts';
import type { SigningAlgorithm } from './token-model.ts';

/** RFC 7518 §3.3: RSA keys of 2048 bits or larger MUST be used with RS256. */
export const MIN_RSA_MODULUS_BITS = 2048;

export interface VerificationKey {
  /** RFC 7638 SHA-256 thumbprint, base64url: the `kid` our issuer puts in the header. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly keyObject: KeyObject;
  /** ES256: 64 (RFC 7518 §3.4, R||S); RS256: the modulus length k in bytes (RFC 8017 §8.2.2). */
  readonly signatureLength: number;
  /** ES256: the group order n; RS256: the modulus n. Scalars must lie in [1, bound). */
  readonly scalarBound: Buffer;
  /** Prebuilt once so the hot path allocates nothing per call. */
  readonly verifyInput: VerifyKeyObjectInput;
}

/** The lookup the verifier uses: a `Map`, never a plain object (`__proto__` must not be a kid). */
export type KeyLookup = ReadonlyMap<string, VerificationKey>;

/** Order n of the P-256 group (SEC 2 §2.4.2 / FIPS 186-4 D.1.2.3). */
const P256_ORDER = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');

/** Builds a verification key from a public `KeyObject`, deciding its one algorithm. */
export function createVerificationKey(keyObject: KeyObject): VerificationKey {
  if (keyObject.type !== 'public') throw new ConfigurationError('verification keys must be public keys');
  const details = keyObject.asymmetricKeyDetails;
  if (keyObject.asymmetricKeyType === 'ec') {
    if (details?.namedCurve !== 'prime256v1') {
      throw new ConfigurationError('EC verification keys must be on P-256 (RFC 7518 §3.4)');
    }
    return {
      kid: jwkThumbprint(keyObject),
      alg: 'ES256',
      keyObject,
      signatureLength: 64,
      scalarBound: P256_ORDER,
      verifyInput: { key: keyObject, dsaEncoding: 'ieee-p1363' },
    };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength;
    if (bits === undefined || bits < MIN_RSA_MODULUS_BITS) {
      throw new ConfigurationError('RSA verification keys must be at least 2048 bits (RFC 7518 §3.3)');
    }
    const exponent = details?.publicExponent;
    // e = 1 makes "signatures" trivially forgeable (Wycheproof JWK tcId 9); e must be odd and > 1.
    if (exponent === undefined || exponent <= 1n || exponent % 2n === 0n) {
      throw new ConfigurationError('RSA verification key has an unusable public exponent');
    }
    const jwk = keyObject.export({ format: 'jwk' });
    if (typeof jwk.n !== 'string') throw new ConfigurationError('RSA key without a modulus');
    const modulus = Buffer.from(jwk.n, 'base64url');
    return {
      kid: jwkThumbprint(keyObject),
      alg: 'RS256',
      keyObject,
      signatureLength: Math.ceil(bits / 8),
      scalarBound: modulus,
      verifyInput: { key: keyObject, padding: constants.RSA_PKCS1_PADDING },
    };
  }
  throw new ConfigurationError('verification keys must be EC P-256 or RSA');
}

/** A KMS `GetPublicKey` answer: DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7). */
export function verificationKeyFromSpki(der: Uint8Array): VerificationKey {
  let keyObject: KeyObject;
  try {
    keyObject = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new ConfigurationError(`public key is not a valid SubjectPublicKeyInfo: ${String(cause)}`);
  }
  return createVerificationKey(keyObject);
}

/** Private-key members of RFC 7518 §6.2.2 / §6.3.2 and `k` (§6.4.1): none may appear. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Loads a JWK Set (RFC 7517 §5) delivered at deploy time. Fails fast, for the whole set, on
 * anything a careful operator would want to know about: private members (Wycheproof JWK tcId 1),
 * a duplicate `kid` (tcId 4), `use` other than `sig` or `key_ops` without `verify` (tcId 6,
 * RFC 7517 §4.2-4.3), an `alg` that is not the one the key implies (tcIds 19-20), a `kid` that
 * is not the RFC 7638 thumbprint, keys off the curve or of the wrong type (tcIds 22-24), small or
 * weak RSA keys (tcIds 8-9). A bad key is never silently skipped.
 */
export function verificationKeysFromJwks(jwks: unknown): Map<string, VerificationKey> {
  if (!isRecord(jwks) || !Array.isArray(jwks.keys)) throw new ConfigurationError('JWKS must be {"keys":[...]}');
  const keys = new Map<string, VerificationKey>();
  for (const jwk of jwks.keys as unknown[]) {
    const key = verificationKeyFromJwk(jwk);
    if (keys.has(key.kid)) throw new ConfigurationError('JWKS contains the same key twice');
    keys.set(key.kid, key);
  }
  if (keys.size === 0) throw new ConfigurationError('JWKS contains no keys');
  return keys;
}

export function verificationKeyFromJwk(jwk: unknown): VerificationKey {
  if (!isRecord(jwk)) throw new ConfigurationError('JWK must be an object');
  for (const member of PRIVATE_MEMBERS) {
    if (member in jwk) throw new ConfigurationError('JWKS must contain public keys only');
  }
  if (jwk.kty !== 'EC' && jwk.kty !== 'RSA') throw new ConfigurationError('JWK kty must be EC or RSA');
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new ConfigurationError('JWK use must be "sig"');
  if (jwk.key_ops !== undefined) {
    if (!Array.isArray(jwk.key_ops) || !jwk.key_ops.includes('verify')) {
      throw new ConfigurationError('JWK key_ops must include "verify"');
    }
  }
  const input =
    jwk.kty === 'EC'
      ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: 'RSA', n: jwk.n, e: jwk.e };
  for (const value of Object.values(input)) {
    if (typeof value !== 'string') throw new ConfigurationError('JWK members must be strings');
  }
  let keyObject: KeyObject;
  try {
    // Node/OpenSSL refuses points that are not on the named curve.
    keyObject = createPublicKey({ key: input as JsonWebKey, format: 'jwk' });
  } catch (cause) {
    throw new ConfigurationError(`JWK is not a valid public key: ${String(cause)}`);
  }
  const key = createVerificationKey(keyObject);
  if (jwk.alg !== undefined && jwk.alg !== key.alg) throw new ConfigurationError('JWK alg does not match the key');
  if (jwk.kid !== undefined && jwk.kid !== key.kid) {
    throw new ConfigurationError('JWK kid must be the RFC 7638 thumbprint of the key');
  }
  return key;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
