/**
 * The stand-in's keys and aliases, in memory, optionally persisted to a JSON state file so a
 * restarted `npm start` keeps signing with the same keys (tokens issued before the restart stay
 * verifiable). The file holds private keys as PKCS#8 PEM: it is written with mode 0600, and it
 * is a local development secret, never a production one.
 *
 * How a key may be referenced (key ID, key ARN, alias name, alias ARN) follows the KeyId
 * parameter of the KMS API reference, e.g. https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#KMS-Sign-request-KeyId
 */
import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { KmsError } from './errors.ts';
import { generatePrivateKey, isSupportedKeySpec } from './signing.ts';
import type { SupportedKeySpec } from './signing.ts';

export const ACCOUNT_ID = '111122223333';

/** A tag as KMS takes and returns it (API reference, data type Tag). */
export interface KmsTag {
  readonly TagKey: string;
  readonly TagValue: string;
}

/** `Enabled`, or `PendingDeletion` after ScheduleKeyDeletion (KMS "Key states of AWS KMS keys"). */
export type KeyState = 'Enabled' | 'PendingDeletion';

export interface KeyRecord {
  readonly keyId: string;
  readonly spec: SupportedKeySpec;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly creationDate: number; // epoch ms
  readonly description: string;
  readonly tags: readonly KmsTag[];
  /** The key policy document (JSON text), as GetKeyPolicy returns it. */
  readonly policy: string;
  state: KeyState;
  /** Epoch ms; set with PendingDeletion. */
  deletionDate?: number | undefined;
}

/**
 * The policy KMS gives a key created without one ("Default key policy" in the KMS developer
 * guide): the account may use IAM policies to allow access to the key.
 */
export function defaultKeyPolicy(): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT_ID}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}

export interface AliasRecord {
  readonly name: string; // "alias/..."
  keyId: string;
  readonly creationDate: number;
  lastUpdatedDate: number;
}

const KEY_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// arn:aws:kms:<region>:<account>:key/<id> or ...:alias/<name>
const ARN_PATTERN = /^arn:aws:kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

interface StateFileV1 {
  version: 1;
  keys: {
    keyId: string;
    spec: string;
    privateKeyPem: string;
    creationDate: number;
    description: string;
    tags?: KmsTag[];
    policy?: string;
    state?: KeyState;
    deletionDate?: number;
  }[];
  aliases: { name: string; keyId: string; creationDate: number; lastUpdatedDate: number }[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, detail: string): never {
  throw new Error(`KMS stand-in state file ${path} is invalid: ${detail}`);
}

export class KeyStore {
  readonly keys = new Map<string, KeyRecord>();
  readonly aliases = new Map<string, AliasRecord>();

  constructor(
    readonly region: string,
    private readonly stateFile?: string,
  ) {
    if (stateFile !== undefined) this.load(stateFile);
  }

  keyArn(keyId: string): string {
    return `arn:aws:kms:${this.region}:${ACCOUNT_ID}:key/${keyId}`;
  }

  aliasArn(name: string): string {
    return `arn:aws:kms:${this.region}:${ACCOUNT_ID}:${name}`;
  }

  createKey(spec: SupportedKeySpec, description: string, tags: readonly KmsTag[] = [], policy: string = defaultKeyPolicy()): KeyRecord {
    const privateKey = generatePrivateKey(spec);
    const record: KeyRecord = {
      keyId: randomUUID(),
      spec,
      privateKey,
      publicKey: createPublicKey(privateKey),
      creationDate: Date.now(),
      description,
      tags: [...tags],
      policy,
      state: 'Enabled',
    };
    this.keys.set(record.keyId, record);
    this.save();
    return record;
  }

  /**
   * Resolves a KeyId parameter. `allowAlias` is false where KMS takes only a key ID or key ARN
   * (CreateAlias TargetKeyId).
   */
  resolve(ref: string, allowAlias = true): KeyRecord {
    let keyId: string | undefined;
    let aliasName: string | undefined;
    const arn = ARN_PATTERN.exec(ref);
    if (arn !== null) {
      const [, region, account, kind, rest] = arn;
      if (region !== this.region || account !== ACCOUNT_ID) {
        // Another Region or account: not a key this "KMS" holds.
        throw new KmsError('NotFoundException', `Key '${ref}' does not exist`);
      }
      if (kind === 'key') keyId = rest;
      else aliasName = `alias/${rest ?? ''}`;
    } else if (ref.startsWith('alias/')) {
      aliasName = ref;
    } else if (ref.startsWith('arn:')) {
      throw new KmsError('NotFoundException', `Invalid arn ${ref}`);
    } else {
      keyId = ref;
    }

    if (aliasName !== undefined) {
      if (!allowAlias) throw new KmsError('NotFoundException', `Invalid keyId ${ref}`);
      const alias = this.aliases.get(aliasName);
      if (alias === undefined) {
        throw new KmsError('NotFoundException', `Alias ${this.aliasArn(aliasName)} is not found.`);
      }
      keyId = alias.keyId;
    }
    if (keyId === undefined || !KEY_ID_PATTERN.test(keyId)) {
      throw new KmsError('NotFoundException', `Invalid keyId ${ref}`);
    }
    const record = this.keys.get(keyId);
    if (record === undefined) {
      throw new KmsError('NotFoundException', `Key '${this.keyArn(keyId)}' does not exist`);
    }
    return record;
  }

  /** Writes the state file, if any: a temp file with mode 0600, then an atomic rename. */
  save(): void {
    if (this.stateFile === undefined) return;
    const data: StateFileV1 = {
      version: 1,
      keys: [...this.keys.values()].map((k) => ({
        keyId: k.keyId,
        spec: k.spec,
        privateKeyPem: k.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        creationDate: k.creationDate,
        description: k.description,
        tags: [...k.tags],
        policy: k.policy,
        state: k.state,
        ...(k.deletionDate === undefined ? {} : { deletionDate: k.deletionDate }),
      })),
      aliases: [...this.aliases.values()].map((a) => ({ ...a })),
    };
    const tmp = `${this.stateFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600); // in case the temp file already existed with other bits
    renameSync(tmp, this.stateFile);
  }

  private load(path: string): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ENOENT') return;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      fail(path, 'not JSON');
    }
    if (!isRecord(parsed) || parsed['version'] !== 1) fail(path, 'expected {"version": 1, ...}');
    const { keys, aliases } = parsed;
    if (!Array.isArray(keys) || !Array.isArray(aliases)) fail(path, 'keys and aliases must be arrays');
    for (const k of keys as unknown[]) {
      if (!isRecord(k)) fail(path, 'a key entry is not an object');
      const { keyId, spec, privateKeyPem, creationDate, description, tags, policy, state, deletionDate } = k;
      if (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId)) fail(path, 'bad keyId');
      if (typeof spec !== 'string' || !isSupportedKeySpec(spec)) fail(path, `bad spec for ${keyId}`);
      if (typeof privateKeyPem !== 'string') fail(path, `bad privateKeyPem for ${keyId}`);
      if (typeof creationDate !== 'number' || typeof description !== 'string') fail(path, `bad dates for ${keyId}`);
      const tagList = tags === undefined ? [] : tags;
      if (!Array.isArray(tagList) || !tagList.every((t) => isRecord(t) && typeof t['TagKey'] === 'string' && typeof t['TagValue'] === 'string')) {
        fail(path, `bad tags for ${keyId}`);
      }
      if (policy !== undefined && typeof policy !== 'string') fail(path, `bad policy for ${keyId}`);
      if (state !== undefined && state !== 'Enabled' && state !== 'PendingDeletion') fail(path, `bad state for ${keyId}`);
      if (deletionDate !== undefined && typeof deletionDate !== 'number') fail(path, `bad deletionDate for ${keyId}`);
      const privateKey = createPrivateKey({ key: privateKeyPem, format: 'pem' });
      this.keys.set(keyId, {
        keyId,
        spec,
        privateKey,
        publicKey: createPublicKey(privateKey),
        creationDate,
        description,
        tags: (tagList as { TagKey: string; TagValue: string }[]).map(({ TagKey, TagValue }) => ({ TagKey, TagValue })),
        policy: policy ?? defaultKeyPolicy(),
        state: state ?? 'Enabled',
        deletionDate,
      });
    }
    for (const a of aliases as unknown[]) {
      if (!isRecord(a)) fail(path, 'an alias entry is not an object');
      const { name, keyId, creationDate, lastUpdatedDate } = a;
      if (typeof name !== 'string' || !name.startsWith('alias/')) fail(path, 'bad alias name');
      if (typeof keyId !== 'string' || !this.keys.has(keyId)) fail(path, `alias ${name} points to no key`);
      if (typeof creationDate !== 'number' || typeof lastUpdatedDate !== 'number') fail(path, `bad dates for ${name}`);
      this.aliases.set(name, { name, keyId, creationDate, lastUpdatedDate });
    }
  }
}
