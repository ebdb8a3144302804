/**
 * The asymmetric SIGN_VERIFY key specs of KMS that the stand-in implements, and signing and
 * verification with them as KMS does it.
 *
 * Which algorithms go with which key spec:
 * https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html
 * - RSA_2048/3072/4096: RSASSA_PSS_SHA_256/384/512 and RSASSA_PKCS1_V1_5_SHA_256/384/512.
 *   PSS uses MGF1 with the same hash and a salt as long as the digest (see "Offline
 *   verification" in the KMS developer guide).
 * - ECC_NIST_P256: ECDSA_SHA_256; ECC_NIST_P384: ECDSA_SHA_384. Signatures are DER-encoded
 *   (ANSI X9.62 ECDSA-Sig-Value), not the raw r||s a JWS needs.
 *
 * MessageType DIGEST skips the hash step, so Node's `crypto.sign` (which always hashes) cannot
 * be used there: RSA goes through raw RSA with our own padding (RFC 8017 section 9.2 for
 * PKCS#1 v1.5, 9.1 for PSS) and ECDSA is computed here (SEC 1 section 4.1.3), using Node's ECDH
 * for the scalar multiplication k*G.
 */
import {
  constants,
  createECDH,
  createHash,
  generateKeyPairSync,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';

export const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA',
  'ML_DSA_SHAKE_256',
  'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** Every KeySpec value KMS accepts (for enum validation); only some are implemented. */
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

const RSA_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
] as const satisfies readonly SigningAlgorithm[];

interface EcCurve {
  readonly kind: 'ec';
  /** OpenSSL curve name, for generateKeyPair and createECDH. */
  readonly curve: string;
  /** Field prime; the curves here all have a = -3 (FIPS 186-4 D.1.2). */
  readonly p: bigint;
  /** Group order. */
  readonly n: bigint;
  readonly byteLength: number;
}

interface RsaSpec {
  readonly kind: 'rsa';
  readonly modulusLength: number;
}

export interface KeySpecInfo {
  readonly algorithms: readonly SigningAlgorithm[];
  readonly params: EcCurve | RsaSpec;
}

export const SUPPORTED_KEY_SPECS = {
  ECC_NIST_P256: {
    algorithms: ['ECDSA_SHA_256'],
    params: {
      kind: 'ec',
      curve: 'prime256v1',
      p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
      n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
      byteLength: 32,
    },
  },
  ECC_NIST_P384: {
    algorithms: ['ECDSA_SHA_384'],
    params: {
      kind: 'ec',
      curve: 'secp384r1',
      p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
      n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
      byteLength: 48,
    },
  },
  RSA_2048: { algorithms: RSA_ALGORITHMS, params: { kind: 'rsa', modulusLength: 2048 } },
  RSA_3072: { algorithms: RSA_ALGORITHMS, params: { kind: 'rsa', modulusLength: 3072 } },
  RSA_4096: { algorithms: RSA_ALGORITHMS, params: { kind: 'rsa', modulusLength: 4096 } },
} as const satisfies Record<string, KeySpecInfo>;

export type SupportedKeySpec = keyof typeof SUPPORTED_KEY_SPECS;

export function isSupportedKeySpec(value: string): value is SupportedKeySpec {
  return Object.hasOwn(SUPPORTED_KEY_SPECS, value);
}

export function generatePrivateKey(spec: SupportedKeySpec): KeyObject {
  const { params } = SUPPORTED_KEY_SPECS[spec] as KeySpecInfo;
  if (params.kind === 'ec') {
    return generateKeyPairSync('ec', { namedCurve: params.curve }).privateKey;
  }
  return generateKeyPairSync('rsa', { modulusLength: params.modulusLength, publicExponent: 0x10001 })
    .privateKey;
}

type HashName = 'sha256' | 'sha384' | 'sha512';

function hashOf(algorithm: SigningAlgorithm): HashName {
  if (algorithm.endsWith('_256')) return 'sha256';
  if (algorithm.endsWith('_384')) return 'sha384';
  return 'sha512';
}

/** Digest length in bytes for the hash an algorithm uses; DIGEST messages must have it. */
export function digestLength(algorithm: SigningAlgorithm): number {
  return { sha256: 32, sha384: 48, sha512: 64 }[hashOf(algorithm)];
}

// ---------------------------------------------------------------------------------------------
// Big-integer helpers

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function toBytes(value: bigint, length: number): Buffer {
  const hex = value.toString(16).padStart(length * 2, '0');
  return Buffer.from(hex, 'hex');
}

function mod(a: bigint, m: bigint): bigint {
  const r = a % m;
  return r < 0n ? r + m : r;
}

function modInverse(a: bigint, m: bigint): bigint {
  let [oldR, r] = [mod(a, m), m];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS, m);
}

function randomScalar(n: bigint, byteLength: number): bigint {
  for (;;) {
    const k = toBigInt(randomBytes(byteLength));
    if (k > 0n && k < n) return k;
  }
}

// ---------------------------------------------------------------------------------------------
// DER ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 section 2.2.3)

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}

function derSignature(r: bigint, s: bigint): Buffer {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

/** Strict parse of a DER ECDSA-Sig-Value; undefined if it is not exactly one. */
function parseDerSignature(sig: Uint8Array): { r: bigint; s: bigint } | undefined {
  let pos = 0;
  const readLength = (): number | undefined => {
    const first = sig[pos++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    const count = first & 0x7f;
    if (count === 0 || count > 2) return undefined;
    let len = 0;
    for (let i = 0; i < count; i++) {
      const b = sig[pos++];
      if (b === undefined) return undefined;
      len = (len << 8) | b;
    }
    return len;
  };
  const readInteger = (): bigint | undefined => {
    if (sig[pos++] !== 0x02) return undefined;
    const len = readLength();
    if (len === undefined || len === 0 || pos + len > sig.length) return undefined;
    const bytes = sig.subarray(pos, pos + len);
    pos += len;
    if ((bytes[0] ?? 0) & 0x80) return undefined; // negative
    return toBigInt(bytes);
  };
  if (sig[pos++] !== 0x30) return undefined;
  const total = readLength();
  if (total === undefined || pos + total !== sig.length) return undefined;
  const r = readInteger();
  const s = readInteger();
  if (r === undefined || s === undefined || pos !== sig.length) return undefined;
  return { r, s };
}

// ---------------------------------------------------------------------------------------------
// Prehashed ECDSA (SEC 1 v2 sections 4.1.3 and 4.1.4)

type Point = { x: bigint; y: bigint } | null; // null = point at infinity

function pointAdd(c: EcCurve, P: Point, Q: Point): Point {
  if (P === null) return Q;
  if (Q === null) return P;
  const { p } = c;
  let lambda: bigint;
  if (P.x === Q.x) {
    if (mod(P.y + Q.y, p) === 0n) return null;
    lambda = mod((3n * P.x * P.x - 3n) * modInverse(2n * P.y, p), p);
  } else {
    lambda = mod((Q.y - P.y) * modInverse(Q.x - P.x, p), p);
  }
  const x = mod(lambda * lambda - P.x - Q.x, p);
  return { x, y: mod(lambda * (P.x - x) - P.y, p) };
}

function pointMultiply(c: EcCurve, k: bigint, P: Point): Point {
  let result: Point = null;
  let addend = P;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) result = pointAdd(c, result, addend);
    addend = pointAdd(c, addend, addend);
  }
  return result;
}

function publicPointOf(c: EcCurve, scalar: bigint): { x: bigint; y: bigint } {
  const ecdh = createECDH(c.curve);
  ecdh.setPrivateKey(toBytes(scalar, c.byteLength));
  const encoded = ecdh.getPublicKey(); // 0x04 || X || Y
  return {
    x: toBigInt(encoded.subarray(1, 1 + c.byteLength)),
    y: toBigInt(encoded.subarray(1 + c.byteLength)),
  };
}

function digestToInteger(c: EcCurve, digest: Uint8Array): bigint {
  // Leftmost bits of the digest, as many as the order has (SEC 1 4.1.3 step 5); our digests
  // are never longer than the order, so this is the whole digest.
  const e = toBigInt(digest);
  const excessBits = digest.length * 8 - c.n.toString(2).length;
  return excessBits > 0 ? e >> BigInt(excessBits) : e;
}

function ecdsaSignDigest(c: EcCurve, privateKey: KeyObject, digest: Uint8Array): Buffer {
  const jwk = privateKey.export({ format: 'jwk' });
  if (typeof jwk.d !== 'string') throw new Error('EC private key has no scalar');
  const d = toBigInt(Buffer.from(jwk.d, 'base64url'));
  const e = digestToInteger(c, digest);
  for (;;) {
    const k = randomScalar(c.n, c.byteLength);
    const r = mod(publicPointOf(c, k).x, c.n);
    if (r === 0n) continue;
    const s = mod(modInverse(k, c.n) * (e + r * d), c.n);
    if (s === 0n) continue;
    return derSignature(r, s);
  }
}

function ecdsaVerifyDigest(
  c: EcCurve,
  publicKey: KeyObject,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const parsed = parseDerSignature(signature);
  if (parsed === undefined) return false;
  const { r, s } = parsed;
  if (r < 1n || r >= c.n || s < 1n || s >= c.n) return false;
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string' || typeof jwk.y !== 'string') return false;
  const Q = { x: toBigInt(Buffer.from(jwk.x, 'base64url')), y: toBigInt(Buffer.from(jwk.y, 'base64url')) };
  const G = publicPointOf(c, 1n);
  const w = modInverse(s, c.n);
  const e = digestToInteger(c, digest);
  const X = pointAdd(c, pointMultiply(c, mod(e * w, c.n), G), pointMultiply(c, mod(r * w, c.n), Q));
  return X !== null && mod(X.x, c.n) === r;
}

// ---------------------------------------------------------------------------------------------
// Prehashed RSA (RFC 8017)

/** DER DigestInfo prefixes, RFC 8017 section 9.2 note 1. */
const DIGEST_INFO_PREFIX: Record<HashName, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

function mgf1(hash: HashName, seed: Buffer, length: number): Buffer {
  const chunks: Buffer[] = [];
  let produced = 0;
  for (let counter = 0; produced < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    chunks.push(block);
    produced += block.length;
  }
  return Buffer.concat(chunks).subarray(0, length);
}

function modulusBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined) throw new Error('not an RSA key');
  return bits;
}

/** EMSA-PSS-ENCODE, RFC 8017 section 9.1.1, with sLen = hLen. */
function pssEncode(hash: HashName, mHash: Uint8Array, emBits: number): Buffer {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(hLen);
  const H = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - 2 * hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(hash, H, emLen - hLen - 1);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] ?? 0) ^ (mask[i] ?? 0);
  db[0] = (db[0] ?? 0) & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([db, H, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY, RFC 8017 section 9.1.2, with sLen = hLen. */
function pssVerify(hash: HashName, mHash: Uint8Array, em: Buffer, emBits: number): boolean {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < 2 * hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const maskedDb = em.subarray(0, emLen - hLen - 1);
  const H = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if (((maskedDb[0] ?? 0) & ~topMask) !== 0) return false;
  const mask = mgf1(hash, H, maskedDb.length);
  const db = Buffer.alloc(maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i] = (maskedDb[i] ?? 0) ^ (mask[i] ?? 0);
  db[0] = (db[0] ?? 0) & topMask;
  const psLen = emLen - 2 * hLen - 2;
  for (let i = 0; i < psLen; i++) if (db[i] !== 0) return false;
  if (db[psLen] !== 1) return false;
  const salt = db.subarray(db.length - hLen);
  const H2 = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(H, H2);
}

function rsaSignDigest(algorithm: SigningAlgorithm, key: KeyObject, digest: Uint8Array): Buffer {
  const hash = hashOf(algorithm);
  if (algorithm.startsWith('RSASSA_PKCS1_V1_5')) {
    return privateEncrypt(
      { key, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]),
    );
  }
  const bits = modulusBits(key);
  const k = Math.ceil(bits / 8);
  const em = pssEncode(hash, digest, bits - 1);
  const block = Buffer.concat([Buffer.alloc(k - em.length), em]);
  return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, block);
}

function rsaVerifyDigest(
  algorithm: SigningAlgorithm,
  key: KeyObject,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const hash = hashOf(algorithm);
  const bits = modulusBits(key);
  const k = Math.ceil(bits / 8);
  if (signature.length !== k) return false;
  try {
    if (algorithm.startsWith('RSASSA_PKCS1_V1_5')) {
      const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      const expected = Buffer.concat([DIGEST_INFO_PREFIX[hash], digest]);
      return recovered.length === expected.length && timingSafeEqual(recovered, expected);
    }
    const block = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
    const emLen = Math.ceil((bits - 1) / 8);
    return pssVerify(hash, digest, block.subarray(block.length - emLen), bits - 1);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

export type MessageType = 'RAW' | 'DIGEST';

function rsaRawOptions(algorithm: SigningAlgorithm): { padding: number; saltLength?: number } {
  return algorithm.startsWith('RSASSA_PSS')
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
    : { padding: constants.RSA_PKCS1_PADDING };
}

/** Signs; the caller has checked that the algorithm fits the key spec and the digest length. */
export function signMessage(
  spec: SupportedKeySpec,
  privateKey: KeyObject,
  algorithm: SigningAlgorithm,
  messageType: MessageType,
  message: Uint8Array,
): Buffer {
  const { params } = SUPPORTED_KEY_SPECS[spec] as KeySpecInfo;
  if (messageType === 'DIGEST') {
    return params.kind === 'ec'
      ? ecdsaSignDigest(params, privateKey, message)
      : rsaSignDigest(algorithm, privateKey, message);
  }
  if (params.kind === 'ec') {
    return nodeSign(hashOf(algorithm), message, { key: privateKey, dsaEncoding: 'der' });
  }
  return nodeSign(hashOf(algorithm), message, { key: privateKey, ...rsaRawOptions(algorithm) });
}

export function verifyMessage(
  spec: SupportedKeySpec,
  publicKey: KeyObject,
  algorithm: SigningAlgorithm,
  messageType: MessageType,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  const { params } = SUPPORTED_KEY_SPECS[spec] as KeySpecInfo;
  if (messageType === 'DIGEST') {
    return params.kind === 'ec'
      ? ecdsaVerifyDigest(params, publicKey, message, signature)
      : rsaVerifyDigest(algorithm, publicKey, message, signature);
  }
  try {
    if (params.kind === 'ec') {
      return nodeVerify(hashOf(algorithm), message, { key: publicKey, dsaEncoding: 'der' }, signature);
    }
    return nodeVerify(hashOf(algorithm), message, { key: publicKey, ...rsaRawOptions(algorithm) }, signature);
  } catch {
    return false;
  }
}
