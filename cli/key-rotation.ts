/**
 * `rotate-key` and `list-keys`: the operator rotates the signing key at run time. A rotation
 * creates a KMS key (the key spec of the deployment's algorithm, SIGN_VERIFY, tagged with the
 * deployment so the functions' tag-conditioned grants cover it, with the key policy of the key
 * signing today), then writes the key registry (`lambdas/core/key-registry.ts`) with one
 * conditional write: the new key signs the next token, the keys it replaces keep verifying for the
 * retirement window. Of two concurrent rotations exactly one lands; the other writes nothing, says
 * so, and schedules the key it created for deletion, so nothing is left half-done.
 */
import {
  CreateKeyCommand,
  GetKeyPolicyCommand,
  GetPublicKeyCommand,
  ScheduleKeyDeletionCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { LONGEST_LIFETIMES } from '../lambdas/config/issuer.ts';
import { loadPublicKey } from '../lambdas/adapters/kms/public-key-loader.ts';
import {
  checkRotation,
  DEPLOYMENT_TAG_KEY,
  retirementWindowSeconds,
  rotateRegistry,
  seedRegistry,
  signingKeyOf,
  verifiesAt,
  type KeyRegistry,
  type RegisteredKey,
} from '../lambdas/core/key-registry.ts';
import type { KeyRegistryStore } from '../lambdas/core/ports.ts';
import type { SigningAlgorithm } from '../lambdas/core/token-model.ts';

export interface KeyOperatorDeps {
  readonly registry: KeyRegistryStore;
  readonly kms: KMSClient;
  /** The deployment's table name: the value of the deployment tag on its keys. */
  readonly deployment: string;
  readonly nowMs: () => number;
}

/**
 * Safe for every deployment: the longest access-token lifetime plus the largest clock skew any
 * deployment may configure (65 minutes). A deployment with the defaults (15 minutes, 60 s) can
 * pass 960 to retire keys sooner.
 */
export const DEFAULT_RETIRE_WINDOW_SECONDS = retirementWindowSeconds(LONGEST_LIFETIMES);

/** How long a key created by a rotation that lost the race waits before KMS deletes it (the minimum). */
const ABANDONED_KEY_PENDING_DAYS = 7;

const KEY_SPEC: Readonly<Record<SigningAlgorithm, 'RSA_2048' | 'ECC_NIST_P256'>> = { RS256: 'RSA_2048', ES256: 'ECC_NIST_P256' };

/** A rotation that could not be made; the message says what happened and what to do. */
export class KeyRotationError extends Error {
  override readonly name = 'KeyRotationError';
}

export interface RotateKeyOptions {
  /**
   * The key the deployment signs with today (id, ARN or alias), needed by the first rotation only:
   * it seeds the registry. Later rotations take the signing key from the registry.
   */
  readonly currentKeyId?: string | undefined;
  /** How long the replaced keys keep verifying (default `DEFAULT_RETIRE_WINDOW_SECONDS`; 0 for a compromised key). */
  readonly retireWindowSeconds?: number | undefined;
}

export interface RotationOutcome {
  readonly registry: KeyRegistry;
  /** The key that signs from now on. */
  readonly signing: RegisteredKey;
  /** Keys retired by this rotation, each verifying until its `verifyUntil`. */
  readonly retired: readonly RegisteredKey[];
}

/** Reads a key's ARN, kid and algorithm from KMS `GetPublicKey`, checked like the functions check it. */
async function describeKey(kms: KMSClient, keyId: string): Promise<Omit<RegisteredKey, 'createdAt'>> {
  const answer = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  const arn = answer.KeyId;
  if (arn === undefined) throw new KeyRotationError(`KMS did not say which key ${keyId} is.`);
  const key = await loadPublicKey(async () => answer, arn);
  return { keyId: arn, kid: key.kid, alg: key.alg };
}

export async function rotateKey(deps: KeyOperatorDeps, options: RotateKeyOptions = {}): Promise<RotationOutcome> {
  const nowSeconds = Math.floor(deps.nowMs() / 1000);
  const retireWindowSeconds = options.retireWindowSeconds ?? DEFAULT_RETIRE_WINDOW_SECONDS;
  const stored = await deps.registry.read();
  let base: KeyRegistry;
  if (stored !== undefined) {
    base = stored;
  } else {
    if (options.currentKeyId === undefined || options.currentKeyId === '') {
      throw new KeyRotationError(
        'This is the first rotation: say which key signs today with --current-key (its ARN, or the alias alias/<keyAliasPrefix>/signing).',
      );
    }
    base = seedRegistry({ ...(await describeKey(deps.kms, options.currentKeyId)), createdAt: nowSeconds });
  }
  // Refused before anything is created: a bad window, or no room for another key.
  checkRotation(base, nowSeconds, retireWindowSeconds);
  const current = signingKeyOf(base);
  // The new key gets the key policy of the key signing today, so it admits exactly the same
  // principals (the stack's key policy lets only the token issuers sign).
  const policy = (await deps.kms.send(new GetKeyPolicyCommand({ KeyId: current.keyId, PolicyName: 'default' }))).Policy;

  const created = await deps.kms.send(
    new CreateKeyCommand({
      KeySpec: KEY_SPEC[current.alg],
      KeyUsage: 'SIGN_VERIFY',
      Description: `kms-jwt-auth ${deps.deployment}: access-token signing key, created by rotate-key at ${new Date(nowSeconds * 1000).toISOString()}`,
      Tags: [{ TagKey: DEPLOYMENT_TAG_KEY, TagValue: deps.deployment }],
      ...(policy === undefined ? {} : { Policy: policy }),
    }),
  );
  const newArn = created.KeyMetadata?.Arn;
  if (newArn === undefined) throw new KeyRotationError('KMS created a key but did not say its ARN; check CreateKey in CloudTrail.');

  let written = false;
  try {
    const next = rotateRegistry(base, { key: await describeKey(deps.kms, newArn), nowSeconds, retireWindowSeconds });
    written = await deps.registry.write(next, stored?.version);
    if (!written) {
      throw new KeyRotationError(
        'Another rotation was written first; this one changed nothing. Run list-keys to see the keys, and rotate again only if you still need to.',
      );
    }
    const signing = signingKeyOf(next);
    const retired = next.keys.filter((key) => key.retiredAt === nowSeconds);
    return { registry: next, signing, retired };
  } finally {
    if (!written) await abandon(deps.kms, newArn);
  }
}

/** Schedules the key of a rotation that did not land for deletion, or says which key to delete. */
async function abandon(kms: KMSClient, keyArn: string): Promise<void> {
  try {
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: ABANDONED_KEY_PENDING_DAYS }));
    process.stderr.write(`The key created for this rotation (${keyArn}) is scheduled for deletion in ${ABANDONED_KEY_PENDING_DAYS} days.\n`);
  } catch (error) {
    const reason = error instanceof Error ? error.name : 'unknown error';
    process.stderr.write(`The key created for this rotation (${keyArn}) is unused; schedule its deletion by hand (ScheduleKeyDeletion failed: ${reason}).\n`);
  }
}

export interface ListedKey extends RegisteredKey {
  readonly status: 'signing' | 'verifying' | 'expired';
}

/** The registry's keys with their status now; `undefined` when no rotation has been made yet. */
export async function listKeys(deps: Pick<KeyOperatorDeps, 'registry' | 'nowMs'>): Promise<readonly ListedKey[] | undefined> {
  const registry = await deps.registry.read();
  if (registry === undefined) return undefined;
  const nowSeconds = Math.floor(deps.nowMs() / 1000);
  const signing = signingKeyOf(registry);
  return registry.keys.map((key) => ({
    ...key,
    status: key === signing ? 'signing' : verifiesAt(key, nowSeconds) ? 'verifying' : 'expired',
  }));
}
