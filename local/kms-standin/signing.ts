/**
 * The two asymmetric SIGN_VERIFY key specs this project signs with, and KMS `Sign` with them in
 * `MessageType: RAW`, done by node:crypto the way KMS does it.
 *
 * Which algorithms go with which key spec
 * (https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html):
 * - RSA_2048: RSASSA_PKCS1_V1_5_SHA_256/384/512 and RSASSA_PSS_SHA_256/384/512. PSS uses MGF1
 *   with the same hash and a salt as long as the digest ("Offline verification" in the KMS
 *   developer guide).
 * - ECC_NIST_P256: ECDSA_SHA_256, signatures DER-encoded (ANSI X9.62 ECDSA-Sig-Value), not the
 *   raw r||s a JWS needs.
 *
 * Other key specs and `MessageType: DIGEST` are answered with KMS's own
 * UnsupportedOperationException (see operations.ts): the project never uses them, and a stand-in
 * that implemented them would need signing code node:crypto does not offer.
 */
import { constants, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** The signing algorithms KMS offers for RSA keys. */
const RSA_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
] as const;

/** Every SigningAlgorithm value KMS accepts (for enum validation, as KMS validates first). */
export const SIGNING_ALGORITHMS = [
  ...RSA_ALGORITHMS,
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA',
  'ML_DSA_SHAKE_256',
  'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Every KeySpec value KMS accepts (for enum validation); only two are implemented. */
export const ALL_KEY_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
  'SYMMETRIC_DEFAULT',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'SM2',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
] as const;

export interface KeySpecInfo {
  readonly algorithms: readonly SigningAlgorithm[];
}

export const SUPPORTED_KEY_SPECS = {
  ECC_NIST_P256: { algorithms: ['ECDSA_SHA_256'] },
  RSA_2048: { algorithms: RSA_ALGORITHMS },
} as const satisfies Record<string, KeySpecInfo>;

export type SupportedKeySpec = keyof typeof SUPPORTED_KEY_SPECS;

export function isSupportedKeySpec(value: string): value is SupportedKeySpec {
  return Object.hasOwn(SUPPORTED_KEY_SPECS, value);
}

export function generatePrivateKey(spec: SupportedKeySpec): KeyObject {
  return spec === 'ECC_NIST_P256'
    ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey
    : generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 }).privateKey;
}

function hashOf(algorithm: SigningAlgorithm): 'sha256' | 'sha384' | 'sha512' {
  if (algorithm.endsWith('_256')) return 'sha256';
  if (algorithm.endsWith('_384')) return 'sha384';
  return 'sha512';
}

/** Signs a RAW message; the caller has checked that the algorithm fits the key spec. */
export function signMessage(privateKey: KeyObject, algorithm: SigningAlgorithm, message: Uint8Array): Buffer {
  if (algorithm === 'ECDSA_SHA_256') {
    return nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
  }
  const padding = algorithm.startsWith('RSASSA_PSS')
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : { padding: constants.RSA_PKCS1_PADDING };
  return nodeSign(hashOf(algorithm), message, { key: privateKey, ...padding });
}
