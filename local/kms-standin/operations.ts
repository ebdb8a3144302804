/**
 * The KMS operations the stand-in implements, each checking its input the way the KMS API
 * reference describes and failing with the error KMS documents for that case.
 *
 * Order of checks, as in KMS: input validation (ValidationException / SerializationException),
 * then the key lookup (NotFoundException), then the key state (DisabledException,
 * KMSInvalidStateException; see the key state table in
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html), then whether the key's
 * usage and spec fit the request (InvalidKeyUsageException).
 *
 * Timestamps are epoch seconds and blobs are base64 strings: the AWS JSON 1.1 protocol's
 * encoding of the `timestamp` and `blob` shapes.
 */
import { KmsError, validationError } from './errors.ts';
import type { AliasRecord, KeyRecord, KeyStore } from './key-store.ts';
import { ACCOUNT_ID } from './key-store.ts';
import {
  ALL_KEY_SPECS,
  SIGNING_ALGORITHMS,
  SUPPORTED_KEY_SPECS,
  digestLength,
  isSupportedKeySpec,
  signMessage,
  verifyMessage,
} from './signing.ts';
import type { KeySpecInfo, MessageType, SigningAlgorithm } from './signing.ts';

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

function optionalInteger(input: Input, member: string, min: number, max: number): number | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw wrongType(member, 'an integer');
  const name = wireName(member);
  if (value < min) {
    throw validationError(`Value '${value}' at '${name}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`);
  }
  if (value > max) {
    throw validationError(`Value '${value}' at '${name}' failed to satisfy constraint: Member must have value less than or equal to ${max}`);
  }
  return value;
}

function optionalBoolean(input: Input, member: string): boolean | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw wrongType(member, 'a boolean');
  return value;
}

// KMS KeyIdType: 1-2048 characters (API reference, Sign request KeyId).
const KEY_ID_RULE = { min: 1, max: 2048 } as const;

// ---------------------------------------------------------------------------------------------

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
    ...(key.deletionDate !== undefined ? { DeletionDate: seconds(key.deletionDate) } : {}),
    ...(key.pendingWindowInDays !== undefined ? { PendingDeletionWindowInDays: key.pendingWindowInDays } : {}),
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.spec,
    KeySpec: key.spec,
    SigningAlgorithms: [...info.algorithms],
    MultiRegion: false,
  };
}

/** Key state check for cryptographic operations (key state table, footnotes on Disabled and PendingDeletion). */
function assertUsable(store: KeyStore, key: KeyRecord): void {
  const arn = store.keyArn(key.keyId);
  if (key.state === 'Disabled') throw new KmsError('DisabledException', `${arn} is disabled.`);
  if (key.state === 'PendingDeletion') {
    throw new KmsError('KMSInvalidStateException', `${arn} is pending deletion.`);
  }
}

function assertNotPendingDeletion(store: KeyStore, key: KeyRecord): void {
  if (key.state === 'PendingDeletion') {
    throw new KmsError('KMSInvalidStateException', `${store.keyArn(key.keyId)} is pending deletion.`);
  }
}

function rejectDryRun(input: Input): void {
  if (optionalBoolean(input, 'DryRun') === true) {
    throw new KmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }
}

interface SignatureRequest {
  key: KeyRecord;
  message: Buffer;
  messageType: MessageType;
  algorithm: SigningAlgorithm;
}

/** Shared checks of Sign and Verify, in KMS's order. */
function signatureRequest(store: KeyStore, input: Input): SignatureRequest {
  const keyRef = requiredString(input, 'KeyId', KEY_ID_RULE);
  // Sign/Verify Message: up to 4096 bytes (API reference, Sign request Message).
  const message = requiredBlob(input, 'Message', { max: 4096 });
  const messageType = optionalEnum(input, 'MessageType', ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const) ?? 'RAW';
  const algorithm = requiredEnum(input, 'SigningAlgorithm', SIGNING_ALGORITHMS);
  optionalBoolean(input, 'DryRun');

  const key = store.resolve(keyRef);
  assertUsable(store, key);
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
  // "When the value of MessageType is DIGEST, the length of the Message value must match the
  // length of hashed messages for the specified signing algorithm." (Sign request MessageType)
  if (messageType === 'DIGEST' && message.length !== digestLength(algorithm)) {
    throw new KmsError('ValidationException', `Digest is invalid length for algorithm ${algorithm}.`);
  }
  return { key, message, messageType, algorithm };
}

const KEY_USAGES = ['SIGN_VERIFY', 'ENCRYPT_DECRYPT', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE'] as const;

const ALIAS_PATTERN = /^[a-zA-Z0-9:/_-]+$/;

function aliasEntry(store: KeyStore, alias: AliasRecord): Output {
  return {
    AliasName: alias.name,
    AliasArn: store.aliasArn(alias.name),
    TargetKeyId: alias.keyId,
    CreationDate: seconds(alias.creationDate),
    LastUpdatedDate: seconds(alias.lastUpdatedDate),
  };
}

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
    throw new KmsError(
      'UnsupportedOperationException',
      `The KMS stand-in implements only KeyUsage SIGN_VERIFY, not ${keyUsage}.`,
    );
  }
  return store.createKey(keySpec, description);
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
  assertNotPendingDeletion(store, key);
  if (store.aliases.has(aliasName)) {
    throw new KmsError('AlreadyExistsException', `An alias with the name ${store.aliasArn(aliasName)} already exists`);
  }
  const now = Date.now();
  store.aliases.set(aliasName, { name: aliasName, keyId: key.keyId, creationDate: now, lastUpdatedDate: now });
  store.save();
}

const handlers: Record<string, Handler> = {
  CreateKey(store, input) {
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

  DeleteAlias(store, input) {
    const aliasName = requiredString(input, 'AliasName', { min: 1, max: 256 });
    if (!store.aliases.delete(aliasName)) {
      throw new KmsError('NotFoundException', `Alias ${store.aliasArn(aliasName)} is not found.`);
    }
    store.save();
    return {};
  },

  ListAliases(store, input) {
    const keyRef = optionalString(input, 'KeyId', KEY_ID_RULE);
    const limit = optionalInteger(input, 'Limit', 1, 100) ?? 50;
    const marker = optionalString(input, 'Marker', { min: 1, max: 1024 });
    const keyId = keyRef === undefined ? undefined : store.resolve(keyRef, false).keyId;
    const all = [...store.aliases.values()]
      .filter((a) => keyId === undefined || a.keyId === keyId)
      .sort((a, b) => a.name.localeCompare(b.name));
    let start = 0;
    if (marker !== undefined) {
      start = /^\d+$/.test(marker) ? Number(marker) : -1;
      if (start < 0 || start > all.length) {
        throw new KmsError('InvalidMarkerException', 'The request was rejected because the marker that specifies where pagination should next begin is not valid.');
      }
    }
    const page = all.slice(start, start + limit);
    const truncated = start + limit < all.length;
    return {
      Aliases: page.map((a) => aliasEntry(store, a)),
      Truncated: truncated,
      ...(truncated ? { NextMarker: String(start + limit) } : {}),
    };
  },

  ListKeys(store, input) {
    optionalInteger(input, 'Limit', 1, 1000);
    return {
      Keys: [...store.keys.values()].map((k) => ({ KeyId: k.keyId, KeyArn: store.keyArn(k.keyId) })),
      Truncated: false,
    };
  },

  DescribeKey(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE));
    return { KeyMetadata: keyMetadata(store, key) };
  },

  GetPublicKey(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE));
    assertUsable(store, key);
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
    const request = signatureRequest(store, input);
    rejectDryRun(input);
    const { key, algorithm, messageType, message } = request;
    return {
      KeyId: store.keyArn(key.keyId),
      Signature: signMessage(key.spec, key.privateKey, algorithm, messageType, message).toString('base64'),
      SigningAlgorithm: algorithm,
    };
  },

  Verify(store, input) {
    // Signature: 1-6144 bytes (API reference, Verify request Signature).
    const signature = requiredBlob(input, 'Signature', { min: 1, max: 6144 });
    const request = signatureRequest(store, input);
    rejectDryRun(input);
    const { key, algorithm, messageType, message } = request;
    if (!verifyMessage(key.spec, key.publicKey, algorithm, messageType, message, signature)) {
      throw new KmsError('KMSInvalidSignatureException', 'Signature verification failed.');
    }
    return { KeyId: store.keyArn(key.keyId), SignatureValid: true, SigningAlgorithm: algorithm };
  },

  DisableKey(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE), false);
    assertNotPendingDeletion(store, key);
    key.state = 'Disabled';
    store.save();
    return {};
  },

  EnableKey(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE), false);
    assertNotPendingDeletion(store, key);
    key.state = 'Enabled';
    store.save();
    return {};
  },

  ScheduleKeyDeletion(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE), false);
    // PendingWindowInDays: 7-30, default 30 (API reference, ScheduleKeyDeletion).
    const days = optionalInteger(input, 'PendingWindowInDays', 7, 30) ?? 30;
    assertNotPendingDeletion(store, key);
    key.state = 'PendingDeletion';
    key.deletionDate = Date.now() + days * 86_400_000;
    key.pendingWindowInDays = days;
    store.save();
    return {
      KeyId: store.keyArn(key.keyId),
      DeletionDate: seconds(key.deletionDate),
      KeyState: 'PendingDeletion',
      PendingWindowInDays: days,
    };
  },

  CancelKeyDeletion(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId', KEY_ID_RULE), false);
    if (key.state !== 'PendingDeletion') {
      throw new KmsError('KMSInvalidStateException', `${store.keyArn(key.keyId)} is not pending deletion.`);
    }
    // A key whose deletion is canceled is Disabled (KMS developer guide, "Deleting KMS keys").
    key.state = 'Disabled';
    delete key.deletionDate;
    delete key.pendingWindowInDays;
    store.save();
    return { KeyId: store.keyArn(key.keyId) };
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
