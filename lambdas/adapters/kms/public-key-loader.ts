/**
 * The one KMS public-key loader, for every function that reads public keys: the authorizer (over
 * its own SigV4 client), the revoke and JWKS functions and the signer (over the SDK's KMSClient).
 * KMS `GetPublicKey` ("GetPublicKey", AWS KMS API Reference) returns a DER SubjectPublicKeyInfo
 * (RFC 5280 §4.1.2.7) with its `KeySpec` and `KeyUsage`; each caller passes the call itself
 * (`GetPublicKey`), so the checks, the key specs accepted and the errors are the same for all.
 *
 * Key specs: `RSA_2048` for RS256 and `ECC_NIST_P256` for ES256 (RFC 7518 §3.3, §3.4), the two
 * the service signs with. Anything else, or a key not for SIGN_VERIFY, is a deployment mistake:
 * `ConfigurationError`. KMS not answering (or answering without a key) is an outage:
 * `DependencyUnavailableError`. Read once per container, never per request.
 */
import { ConfigurationError, DependencyUnavailableError } from '../../core/errors.ts';
import { isRecord } from '../../core/is-record.ts';
import type { PublishedKey } from '../../core/ports.ts';
import type { SigningAlgorithm } from '../../core/token-model.ts';
import { verificationKeyFromSpki } from '../../core/verification-key.ts';

/**
 * One `GetPublicKey` call; resolves to the response as `unknown`. `PublicKey` is bytes from the
 * SDK, or base64 text from the JSON protocol: both are accepted.
 */
export type GetPublicKey = (keyId: string) => Promise<unknown>;

/** KMS key specs we sign with, and the JWS algorithm each implies. */
const ALG_FOR_KEY_SPEC: Readonly<Record<string, SigningAlgorithm>> = {
  ECC_NIST_P256: 'ES256',
  RSA_2048: 'RS256',
};

/** Checks one `GetPublicKey` answer and builds the key from it. */
function publishedKeyFromKms(keyId: string, answer: unknown): PublishedKey {
  if (!isRecord(answer)) throw new DependencyUnavailableError('KMS', new Error('unreadable GetPublicKey response'));
  const { KeySpec, KeyUsage, PublicKey } = answer;
  const alg = typeof KeySpec === 'string' ? ALG_FOR_KEY_SPEC[KeySpec] : undefined;
  if (alg === undefined || KeyUsage !== 'SIGN_VERIFY') {
    throw new ConfigurationError(`KMS key ${keyId} is not an ECC_NIST_P256 or RSA_2048 SIGN_VERIFY key`);
  }
  let der: Uint8Array;
  if (PublicKey instanceof Uint8Array) der = PublicKey;
  else if (typeof PublicKey === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(PublicKey)) der = Buffer.from(PublicKey, 'base64');
  else throw new DependencyUnavailableError('KMS', new Error('GetPublicKey answered without a public key'));
  const key = verificationKeyFromSpki(der);
  if (key.alg !== alg) throw new ConfigurationError(`KMS key ${keyId} says ${String(KeySpec)} but holds a key for ${key.alg}`);
  // RFC 7517 §4.2-4.4: say what the key is for, so nobody uses it to encrypt.
  const jwk = { ...key.keyObject.export({ format: 'jwk' }), kid: key.kid, alg, use: 'sig' } as const;
  return { ...key, keyId, jwk };
}

export async function loadPublicKey(getPublicKey: GetPublicKey, keyId: string): Promise<PublishedKey> {
  let answer: unknown;
  try {
    answer = await getPublicKey(keyId);
  } catch (cause) {
    throw new DependencyUnavailableError('KMS', cause);
  }
  return publishedKeyFromKms(keyId, answer);
}
