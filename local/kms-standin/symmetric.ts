/**
 * Symmetric encryption keys (KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT) and KMS
 * `Encrypt` / `Decrypt` with them, as the KMS API reference describes them
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html, API_Decrypt.html):
 *
 * - the ciphertext blob names the key that made it, so `Decrypt` needs no KeyId; a KeyId that is
 *   given must be that key, else IncorrectKeyException;
 * - the encryption context is additional authenticated data: `Decrypt` must be given the very same
 *   map (an exact, case-sensitive match, in any order), else InvalidCiphertextException, as for a
 *   changed or truncated ciphertext;
 * - an asymmetric (SIGN_VERIFY) key used to encrypt or decrypt is InvalidKeyUsageException.
 *
 * The blob here is the stand-in's own format (KMS's is opaque and undocumented): a version byte,
 * the key id, a 12-byte IV and the AES-256-GCM tag, then the ciphertext. AES-256-GCM is what KMS
 * documents for SYMMETRIC_DEFAULT outside China Regions. Symmetric keys live in memory only (the
 * state file keeps the signing keys); a restarted stand-in cannot open what an earlier one sealed.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { KmsError } from './errors.ts';
import { ACCOUNT_ID, type KeyStore } from './key-store.ts';

export interface SymmetricKeyRecord {
  readonly keyId: string;
  readonly material: Buffer;
  readonly creationDate: number;
  readonly description: string;
}

const VERSION = 1;
const KEY_ID_LENGTH = 36;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_LENGTH + IV_BYTES + TAG_BYTES;

/** The symmetric keys of each store (kept beside it, so the asymmetric key store is unchanged). */
const rings = new WeakMap<KeyStore, Map<string, SymmetricKeyRecord>>();

function ring(store: KeyStore): Map<string, SymmetricKeyRecord> {
  let keys = rings.get(store);
  if (keys === undefined) {
    keys = new Map();
    rings.set(store, keys);
  }
  return keys;
}

export function createSymmetricKey(store: KeyStore, description: string): SymmetricKeyRecord {
  const record: SymmetricKeyRecord = { keyId: randomUUID(), material: randomBytes(32), creationDate: Date.now(), description };
  ring(store).set(record.keyId, record);
  return record;
}

/** KeyMetadata of a symmetric key, as CreateKey returns it. */
export function symmetricKeyMetadata(store: KeyStore, key: SymmetricKeyRecord): Record<string, unknown> {
  return {
    AWSAccountId: ACCOUNT_ID,
    KeyId: key.keyId,
    Arn: store.keyArn(key.keyId),
    CreationDate: key.creationDate / 1000,
    Enabled: true,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

/**
 * Resolves a KeyId parameter (key ID, key ARN, alias name or alias ARN) to a symmetric key. A
 * signing key is there but of the wrong usage: InvalidKeyUsageException, as KMS answers.
 */
export function resolveSymmetric(store: KeyStore, ref: string, operation: string): SymmetricKeyRecord {
  const keys = ring(store);
  const own = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/.exec(ref);
  let keyId: string | undefined;
  if (own !== null) {
    if (own[1] === store.region && own[2] === ACCOUNT_ID) keyId = own[3];
  } else if (!ref.startsWith('arn:') && !ref.startsWith('alias/')) {
    keyId = ref;
  }
  const found = keyId === undefined ? undefined : keys.get(keyId);
  if (found !== undefined) return found;
  // Anything else is resolved by the key store: an asymmetric key (wrong usage) or NotFound.
  const other = store.resolve(ref);
  const symmetric = keys.get(other.keyId);
  if (symmetric !== undefined) return symmetric;
  throw new KmsError('InvalidKeyUsageException', `${store.keyArn(other.keyId)} key usage is SIGN_VERIFY which is not valid for ${operation}.`);
}

/** The encryption context as authenticated data: the same map in any order gives the same bytes. */
function contextBytes(context: Readonly<Record<string, string>>): Buffer {
  return Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), 'utf8');
}

export function encrypt(key: SymmetricKeyRecord, plaintext: Buffer, context: Readonly<Record<string, string>>): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.material, iv);
  cipher.setAAD(contextBytes(context));
  const sealed = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), Buffer.from(key.keyId, 'ascii'), iv, cipher.getAuthTag(), sealed]);
}

const INVALID = 'The ciphertext or its encryption context is invalid.';

/** The key a blob names; InvalidCiphertextException when it names none of this stand-in's keys. */
export function keyOfCiphertext(store: KeyStore, blob: Buffer): SymmetricKeyRecord {
  if (blob.length <= HEADER_BYTES || blob[0] !== VERSION) throw new KmsError('InvalidCiphertextException', INVALID);
  const key = ring(store).get(blob.subarray(1, 1 + KEY_ID_LENGTH).toString('ascii'));
  if (key === undefined) throw new KmsError('InvalidCiphertextException', INVALID);
  return key;
}

export function decrypt(key: SymmetricKeyRecord, blob: Buffer, context: Readonly<Record<string, string>>): Buffer {
  const ivAt = 1 + KEY_ID_LENGTH;
  const decipher = createDecipheriv('aes-256-gcm', key.material, blob.subarray(ivAt, ivAt + IV_BYTES));
  decipher.setAAD(contextBytes(context));
  decipher.setAuthTag(blob.subarray(ivAt + IV_BYTES, HEADER_BYTES));
  try {
    return Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES)), decipher.final()]);
  } catch {
    throw new KmsError('InvalidCiphertextException', INVALID);
  }
}

/**
 * For the signing operations: a symmetric key named where a signing key is expected is refused
 * with the error KMS gives for that operation (Sign: InvalidKeyUsageException; GetPublicKey:
 * UnsupportedOperationException, "GetPublicKey ... not valid for a symmetric encryption KMS key"),
 * not NotFoundException. Returns nothing when `ref` is not a symmetric key of this store.
 */
export function refuseSymmetric(store: KeyStore, ref: string, operation: 'Sign' | 'GetPublicKey'): void {
  const keys = ring(store);
  const own = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):key\/(.+)$/.exec(ref);
  const keyId = own !== null ? (own[1] === store.region && own[2] === ACCOUNT_ID ? own[3] : undefined) : ref;
  if (keyId === undefined || !keys.has(keyId)) return;
  const arn = store.keyArn(keyId);
  if (operation === 'Sign') throw new KmsError('InvalidKeyUsageException', `${arn} key usage is ENCRYPT_DECRYPT which is not valid for Sign.`);
  throw new KmsError('UnsupportedOperationException', `${arn} is a symmetric encryption key; GetPublicKey is not valid for it.`);
}
