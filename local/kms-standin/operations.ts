/**
 * The KMS operations this project uses (CreateKey and CreateAlias to set up a local key,
 * GetPublicKey and Sign at run time; Encrypt and Decrypt with a symmetric key for TOTP secrets
 * (symmetric.ts); CreateKey with Tags and Policy, GetKeyPolicy,
 * ListResourceTags and ScheduleKeyDeletion for the operator's `rotate-key`), each checking its
 * input the way the KMS API reference describes and failing with the error KMS documents for that
 * case. Any other operation is KMS's own UnknownOperationException; a key spec, key usage or
 * message type the project never uses is KMS's UnsupportedOperationException. A key is Enabled
 * until ScheduleKeyDeletion makes it PendingDeletion, in which state Sign and GetPublicKey fail
 * with KMSInvalidStateException ("Key states of AWS KMS keys" in the KMS developer guide); the
 * stand-in never actually deletes it.
 *
 * Order of checks, as in KMS: input validation (ValidationException / SerializationException),
 * then the key lookup (NotFoundException), then whether the key's usage and spec fit the request
 * (InvalidKeyUsageException).
 *
 * Timestamps are epoch seconds and blobs are base64 strings: the AWS JSON 1.1 protocol's
 * encoding of the `timestamp` and `blob` shapes.
 */
import { KmsError, validationError } from './errors.ts';
import type { KeyRecord, KeyStore, KmsTag } from './key-store.ts';
import { ACCOUNT_ID, defaultKeyPolicy } from './key-store.ts';
import { ALL_KEY_SPECS, SIGNING_ALGORITHMS, SUPPORTED_KEY_SPECS, isSupportedKeySpec, signMessage } from './signing.ts';
import type { KeySpecInfo } from './signing.ts';
import { createSymmetricKey, decrypt, encrypt, keyOfCiphertext, refuseSymmetric, resolveSymmetric, symmetricKeyMetadata } from './symmetric.ts';

export type Input = Readonly<Record<string, unknown>>;
export type Output = Record<string, unknown>;
type Handler = (store: KeyStore, input: Input) => Output;

// ---------------------------------------------------------------------------------------------
// Input narrowing. Member names in messages are lower camel case, as KMS writes them.

function wireName(member: string): string {
  return member.charAt(0).toLowerCase() + member.slice(1);
}

function wrongType(member: string, expected: string): KmsError {
  return new KmsError('SerializationException', `Expected ${expected} for member ${member}`);
}

interface StringRule {
  readonly min?: number;
  readonly max?: number;
}

function optionalString(input: Input, member: string, rule: StringRule = {}): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw wrongType(member, 'a string');
  const name = wireName(member);
  if (rule.min !== undefined && value.length < rule.min) {
    throw validationError(
      `Value at '${name}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`,
    );
  }
  if (rule.max !== undefined && value.length > rule.max) {
    throw validationError(
      `Value at '${name}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`,
    );
  }
  return value;
}

function requiredString(input: Input, member: string, rule: StringRule = {}): string {
  const value = optionalString(input, member, rule);
  if (value === undefined) {
    throw validationError(`Value null at '${wireName(member)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

function optionalEnum<T extends string>(input: Input, member: string, values: readonly T[]): T | undefined {
  const value = optionalString(input, member);
  if (value === undefined) return undefined;
  if (!(values as readonly string[]).includes(value)) {
    throw validationError(
      `Value '${value}' at '${wireName(member)}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`,
    );
  }
  return value as T;
}

function requiredEnum<T extends string>(input: Input, member: string, values: readonly T[]): T {
  const value = optionalEnum(input, member, values);
  if (value === undefined) {
    throw validationError(`Value null at '${wireName(member)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function requiredBlob(input: Input, member: string, rule: StringRule): Buffer {
  const value = input[member];
  const name = wireName(member);
  if (value === undefined || value === null) {
    throw validationError(`Value null at '${name}' failed to satisfy constraint: Member must not be null`);
  }
  if (typeof value !== 'string' || !BASE64.test(value)) throw wrongType(member, 'a base64-encoded blob');
  const bytes = Buffer.from(value, 'base64');
  if (rule.min !== undefined && bytes.length < rule.min) {
    throw validationError(
      `Value at '${name}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`,
    );
  }
  if (rule.max !== undefined && bytes.length > rule.max) {
    throw validationError(
      `Value at '${name}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`,
    );
  }
  return bytes;
}

function optionalBoolean(input: Input, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw wrongType(member, 'a boolean');
  return value;
}

// KMS KeyIdType: 1-2048 characters (API reference, Sign request KeyId).
const KEY_ID_RULE = { min: 1, max: 2048 } as const;



const seconds = (ms: number): number => ms / 1000;

function keyMetadata(store: KeyStore, key: KeyRecord): Output {
  const info: KeySpecInfo = SUPPORTED_KEY_SPECS[key.spec];
  return {
    AWSAccountId: ACCOUNT_ID,
    KeyId: key.keyId,
    Arn: store.keyArn(key.keyId),
    CreationDate: seconds(key.creationDate),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: 'SIGN_VERIFY',
    KeyState: key.state,
    ...(key.deletionDate === undefined ? {} : { DeletionDate: seconds(key.deletionDate) }),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.spec,
    KeySpec: key.spec,
    SigningAlgorithms: [...info.algorithms],
    MultiRegion: false,
  };
}

const KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE'] as const;

const ALIAS_PATTERN = /^[a-zA-Z0-9:/_-]+$/;

export function createKeyRecord(store: KeyStore, input: Input): KeyRecord {
  const keySpec =
    optionalEnum(input, 'KeySpec', ALL_KEY_SPECS) ??
    optionalEnum(input, 'CustomerMasterKeySpec', ALL_KEY_SPECS) ??
    'SYMMETRIC_DEFAULT';
  // KeyUsage defaults to ENCRYPT_DECRYPT (API reference, CreateKey request KeyUsage).
  const keyUsage = optionalEnum(input, 'KeyUsage', KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
  const description = optionalString(input, 'Description', { max: 8192 }) ?? '';
  if (!isSupportedKeySpec(keySpec)) {
    throw new KmsError(
      'UnsupportedOperationException',
      `The KMS stand-in does not implement KeySpec ${keySpec}; it supports ${Object.keys(SUPPORTED_KEY_SPECS).join(', ')}.`,
    );
  }
  if (keyUsage !== 'SIGN_VERIFY') {
    throw new KmsError('UnsupportedOperationException', `The KMS stand-in implements only KeyUsage SIGN_VERIFY, not ${keyUsage}.`);
  }
  return store.createKey(keySpec, description, tagsOf(input), policyOf(input));
}

/**
 * CreateKey `Tags` (API reference, data type Tag): TagKey 1-128 characters, TagValue 0-256; a key
 * may not repeat, and the `aws:` prefix is reserved for AWS. KMS answers an invalid tag with
 * TagException ("The request was rejected because one or more tags are not valid").
 */
function tagsOf(input: Input): KmsTag[] {
  const value = input['Tags'];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw wrongType('Tags', 'a list');
  const tags = (value as unknown[]).map((entry): KmsTag => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw wrongType('Tags', 'a list of Tag structures');
    const tag = entry as Input;
    return { TagKey: requiredString(tag, 'TagKey', { min: 1, max: 128 }), TagValue: requiredString(tag, 'TagValue', { min: 0, max: 256 }) };
  });
  if (tags.length > 50) throw new KmsError('TagException', 'A KMS key can have at most 50 tags.');
  if (new Set(tags.map((tag) => tag.TagKey)).size !== tags.length) throw new KmsError('TagException', 'Duplicate tag keys are not allowed.');
  if (tags.some((tag) => tag.TagKey.toLowerCase().startsWith('aws:'))) throw new KmsError('TagException', 'Tag keys beginning with aws: are reserved.');
  return tags;
}

/** CreateKey `Policy`: 1-32768 characters of JSON; otherwise MalformedPolicyDocumentException. */
function policyOf(input: Input): string {
  const policy = optionalString(input, 'Policy', { min: 1, max: 32_768 });
  if (policy === undefined) return defaultKeyPolicy();
  let parsed: unknown;
  try {
    parsed = JSON.parse(policy);
  } catch {
    throw new KmsError('MalformedPolicyDocumentException', 'The new key policy is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed)) {
    throw new KmsError('MalformedPolicyDocumentException', 'The new key policy has no Statement.');
  }
  return policy;
}

/** Sign and GetPublicKey need an Enabled key ("Key states of AWS KMS keys"). */
function requireEnabled(store: KeyStore, key: KeyRecord): void {
  if (key.state !== 'Enabled') throw new KmsError('KMSInvalidStateException', `${store.keyArn(key.keyId)} is pending deletion.`);
}

export function createAlias(store: KeyStore, aliasName: string, targetKeyId: string): void {
  if (!aliasName.startsWith('alias/')) {
    throw new KmsError('ValidationException', 'Alias must start with the prefix "alias/".');
  }
  // "The alias name cannot begin with alias/aws/. The alias/aws/ prefix is reserved for AWS
  // managed keys." (API reference, CreateAlias request AliasName)
  if (aliasName.startsWith('alias/aws/')) {
    throw new KmsError('InvalidAliasNameException', `Alias ${aliasName} uses the reserved prefix alias/aws/.`);
  }
  const key = store.resolve(targetKeyId, false);
  if (store.aliases.has(aliasName)) {
    throw new KmsError('AlreadyExistsException', `An alias with the name ${store.aliasArn(aliasName)} already exists`);
  }
  const now = Date.now();
  store.aliases.set(aliasName, { name: aliasName, keyId: key.keyId, creationDate: now, lastUpdatedDate: now });
  store.save();
}

/**
 * An encryption context (API reference, Encrypt request EncryptionContext): a map of strings to
 * strings; anything else is a SerializationException, as the SDK's JSON would be for KMS.
 */
function encryptionContext(input: Input): Record<string, string> {
  const value = input['EncryptionContext'];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw wrongType('EncryptionContext', 'a map');
  const context: Record<string, string> = {};
  for (const [name, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') throw wrongType('EncryptionContext', 'a map of strings');
    context[name] = entry;
  }
  return context;
}

const ENCRYPTION_ALGORITHMS = ['SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;

/** Encrypt and Decrypt: only SYMMETRIC_DEFAULT, the algorithm of symmetric keys (symmetric.ts). */
function symmetricAlgorithm(input: Input): void {
  const algorithm = optionalEnum(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHMS) ?? 'SYMMETRIC_DEFAULT';
  if (algorithm !== 'SYMMETRIC_DEFAULT') {
    throw new KmsError('InvalidKeyUsageException', `Encryption algorithm ${algorithm} is not valid for a SYMMETRIC_DEFAULT key.`);
  }
}

function dryRunCheck(input: Input): void {
  if (optionalBoolean(input, 'DryRun') === true) {
    throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }
}

/** CreateKey of a symmetric encryption key: KeySpec SYMMETRIC_DEFAULT with KeyUsage ENCRYPT_DECRYPT (both defaults). */
function isSymmetricKeyRequest(input: Input): boolean {
  const keySpec = optionalEnum(input, 'KeySpec', ALL_KEY_SPECS) ?? optionalEnum(input, 'CustomerMasterKeySpec', ALL_KEY_SPECS) ?? 'SYMMETRIC_DEFAULT';
  const keyUsage = optionalEnum(input, 'KeyUsage', KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
  return keySpec === 'SYMMETRIC_DEFAULT' && keyUsage === 'ENCRYPT_DECRYPT';
}

const handlers: Record<string, Handler> = {
  CreateKey(store, input) {
    if (isSymmetricKeyRequest(input)) {
      const description = optionalString(input, 'Description', { max: 8192 }) ?? '';
      return { KeyMetadata: symmetricKeyMetadata(store, createSymmetricKey(store, description)) };
    }
    return { KeyMetadata: keyMetadata(store, createKeyRecord(store, input)) };
  },

  CreateAlias(store, input) {
    // AliasNameType: 1-256 characters of [a-zA-Z0-9:/_-] (API reference, CreateAlias).
    const aliasName = requiredString(input, 'AliasName', { min: 1, max: 256 });
    if (!ALIAS_PATTERN.test(aliasName)) {
      throw validationError(
        `Value '${aliasName}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`,
      );
    }
    const target = requiredString(input, 'TargetKeyId', KEY_ID_RULE);
    createAlias(store, aliasName, target);
    return {};
  },

  GetKeyPolicy(store, input) {
    // KeyId: key ID or key ARN only (API reference, GetKeyPolicy); PolicyName is always "default".
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE), false);
    const name = optionalString(input, 'PolicyName', { min: 1, max: 128 }) ?? 'default';
    if (name !== 'default') throw new KmsError('NotFoundException', `No such policy ${name}; the only valid name is default.`);
    return { Policy: key.policy, PolicyName: 'default' };
  },

  ListResourceTags(store, input) {
    // KeyId: key ID or key ARN (API reference, ListResourceTags); Limit 1-1000 (default 50).
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE), false);
    const limit = input['Limit'];
    if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000)) {
      throw validationError(`Value '${String(limit)}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000`);
    }
    const marker = optionalString(input, 'Marker', { min: 1, max: 1024 });
    const start = marker === undefined ? 0 : Number(marker);
    if (!Number.isInteger(start) || start < 0 || start > key.tags.length) throw new KmsError('InvalidMarkerException', 'The marker is not valid.');
    const end = start + (typeof limit === 'number' ? limit : 50);
    const truncated = end < key.tags.length;
    return { Tags: key.tags.slice(start, end).map((tag) => ({ ...tag })), Truncated: truncated, ...(truncated ? { NextMarker: String(end) } : {}) };
  },

  ScheduleKeyDeletion(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE), false);
    // PendingWindowInDays: 7-30, default 30 (API reference, ScheduleKeyDeletion).
    const days = input['PendingWindowInDays'];
    if (days !== undefined && (typeof days !== 'number' || !Number.isInteger(days) || days < 7 || days > 30)) {
      throw validationError(`Value '${String(days)}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`);
    }
    if (key.state === 'PendingDeletion') throw new KmsError('KMSInvalidStateException', `${store.keyArn(key.keyId)} is pending deletion.`);
    const window = typeof days === 'number' ? days : 30;
    key.state = 'PendingDeletion';
    key.deletionDate = Date.now() + window * 86_400_000;
    store.save();
    return { KeyId: store.keyArn(key.keyId), DeletionDate: seconds(key.deletionDate), KeyState: 'PendingDeletion', PendingWindowInDays: window };
  },

  GetPublicKey(store, input) {
    const keyRef = requiredString(input, 'KeyId', KEY_ID_RULE);
    refuseSymmetric(store, keyRef, 'GetPublicKey');
    const key = store.resolve(keyRef);
    requireEnabled(store, key);
    const info: KeySpecInfo = SUPPORTED_KEY_SPECS[key.spec];
    return {
      KeyId: store.keyArn(key.keyId),
      // DER SubjectPublicKeyInfo (RFC 5280), base64 on the wire (API reference, GetPublicKey response).
      PublicKey: key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
      CustomerMasterKeySpec: key.spec,
      KeySpec: key.spec,
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: [...info.algorithms],
    };
  },

  Sign(store, input) {
    const keyRef = requiredString(input, 'KeyId', KEY_ID_RULE);
    // Message: up to 4096 bytes (API reference, Sign request Message).
    const message = requiredBlob(input, 'Message', { max: 4096 });
    const messageType = optionalEnum(input, 'MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const) ?? 'RAW';
    const algorithm = requiredEnum(input, 'SigningAlgorithm', SIGNING_ALGORITHMS);
    const dryRun = optionalBoolean(input, 'DryRun');

    refuseSymmetric(store, keyRef, 'Sign');
    const key = store.resolve(keyRef);
    requireEnabled(store, key);
    const info: KeySpecInfo = SUPPORTED_KEY_SPECS[key.spec];
    if (!info.algorithms.includes(algorithm)) {
      throw new KmsError(
        'InvalidKeyUsageException',
        `Signing algorithm ${algorithm} is not compatible with key spec ${key.spec} of ${store.keyArn(key.keyId)}. ` +
          `Valid algorithms: ${info.algorithms.join(', ')}.`,
      );
    }
    if (messageType === 'EXTERNAL_MU') {
      // EXTERNAL_MU is only for ML-DSA keys (API reference, Sign request MessageType).
      throw new KmsError('InvalidKeyUsageException', `MessageType EXTERNAL_MU is not valid for key spec ${key.spec}.`);
    }
    if (messageType === 'DIGEST') {
      throw new KmsError('UnsupportedOperationException', 'The KMS stand-in signs only MessageType RAW, the type this project sends.');
    }
    if (dryRun === true) {
      throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
    }
    return {
      KeyId: store.keyArn(key.keyId),
      Signature: signMessage(key.privateKey, algorithm, message).toString('base64'),
      SigningAlgorithm: algorithm,
    };
  },

  Encrypt(store, input) {
    const keyRef = requiredString(input, 'KeyId', KEY_ID_RULE);
    // Plaintext: 1 to 4096 bytes (API reference, Encrypt request Plaintext).
    const plaintext = requiredBlob(input, 'Plaintext', { min: 1, max: 4096 });
    const context = encryptionContext(input);
    symmetricAlgorithm(input);
    const key = resolveSymmetric(store, keyRef, 'Encrypt');
    dryRunCheck(input);
    return {
      KeyId: store.keyArn(key.keyId),
      CiphertextBlob: encrypt(key, plaintext, context).toString('base64'),
      EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    };
  },

  Decrypt(store, input) {
    // CiphertextBlob: 1 to 6144 bytes (API reference, Decrypt request CiphertextBlob).
    const blob = requiredBlob(input, 'CiphertextBlob', { min: 1, max: 6144 });
    const keyRef = optionalString(input, 'KeyId', KEY_ID_RULE);
    const context = encryptionContext(input);
    symmetricAlgorithm(input);
    const named = keyRef === undefined ? undefined : resolveSymmetric(store, keyRef, 'Decrypt');
    const key = keyOfCiphertext(store, blob);
    if (named !== undefined && named.keyId !== key.keyId) {
      throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify the KMS key that encrypted the ciphertext.');
    }
    dryRunCheck(input);
    return { KeyId: store.keyArn(key.keyId), Plaintext: decrypt(key, blob, context).toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },
};

export const OPERATIONS: ReadonlySet<string> = new Set(Object.keys(handlers));

export function handleOperation(store: KeyStore, operation: string, input: Input): Output {
  const handler = Object.hasOwn(handlers, operation) ? handlers[operation] : undefined;
  if (handler === undefined) {
    throw new KmsError('UnknownOperationException', `Operation ${operation} is not implemented`);
  }
  return handler(store, input);
}
