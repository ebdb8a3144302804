/**
 * The signing-key registry: which KMS key signs new access tokens and which keys still verify,
 * kept in one table item so that an operator rotates the key at run time (`rotate-key`) instead of
 * redeploying. Pure rules, shared by the issuers (login, refresh), the verifiers (authorizer,
 * /revoke, JWKS) and the operator CLI:
 *
 *  - the key that signs is the newest key that is not retired;
 *  - a retired key keeps verifying until `verifyUntil`: its retirement instant plus the longest an
 *    access token it signed can live (lifetime + clock skew), so every token it signed stays
 *    valid until it expires and no longer (RFC 7517 §5 leaves rotation to the publisher; the
 *    usual practice, e.g. OpenID Connect Core §10.1.1, is to keep publishing the old key while
 *    tokens signed with it are in flight);
 *  - a rotation retires every unretired key at once, drops keys whose window has passed, and adds
 *    the new key; the registry's `version` goes up by one, and the store writes the result only if
 *    the version it read is still there (so of two concurrent rotations exactly one lands).
 *
 * When no registry item exists, the functions use the keys they were deployed with (env
 * `SIGNING_KEY_ID` / `VERIFY_KEY_IDS`); the first rotation seeds the registry with that signing key.
 */
import { ConfigurationError } from './errors.ts';
import { isRecord } from './is-record.ts';
import { isSigningAlgorithm, type SigningAlgorithm } from './token-model.ts';

/** Table key of the registry item: one item, outside every user's partition. */
export const KEY_REGISTRY_PK = 'KEYS';
export const KEY_REGISTRY_SK = 'KEYS';

/**
 * The tag on every KMS key of a deployment (value: the deployment's table name). The functions'
 * IAM grants allow `kms:Sign` / `kms:GetPublicKey` on keys carrying it (`aws:ResourceTag`), so a
 * key the operator creates with the tag is usable without a redeploy (ABAC, "ABAC for AWS KMS" in
 * the KMS developer guide).
 */
export const DEPLOYMENT_TAG_KEY = 'kms-jwt-auth:deployment';

/** A rotation keeps at most this many keys (signing + still verifying): bounds the item and the JWKS. */
export const MAX_REGISTRY_KEYS = 16;

export interface RegisteredKey {
  /** KMS key ARN (what `Sign` and `GetPublicKey` are called with). */
  readonly keyId: string;
  /** RFC 7638 thumbprint of its public key, as the CLI computed it from `GetPublicKey`. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  /** Epoch seconds when it was added to the registry. */
  readonly createdAt: number;
  /** Epoch seconds when a rotation retired it; absent while it signs. */
  readonly retiredAt?: number | undefined;
  /** Epoch seconds after which it no longer verifies (set with `retiredAt`). */
  readonly verifyUntil?: number | undefined;
}

export interface KeyRegistry {
  /** Optimistic-lock version: every write is conditioned on the version it read. */
  readonly version: number;
  readonly keys: readonly RegisteredKey[];
}

/**
 * The key that signs now: the newest unretired key (ties: the later one in the list, the order a
 * rotation appends in). A registry without one is a broken item, not something to guess around.
 */
export function signingKeyOf(registry: KeyRegistry): RegisteredKey {
  let newest: RegisteredKey | undefined;
  for (const key of registry.keys) {
    if (key.retiredAt !== undefined) continue;
    if (newest === undefined || key.createdAt >= newest.createdAt) newest = key;
  }
  if (newest === undefined) throw new ConfigurationError('the key registry has no key that signs');
  return newest;
}

/**
 * "It might take up to five minutes for tag and alias changes to affect KMS key authorization"
 * ("ABAC for AWS KMS", KMS developer guide): a key created by a rotation may not yet be usable by
 * the issuers' tag-conditioned grants for this long after it was added.
 */
export const KMS_AUTHORIZATION_DELAY_SECONDS = 300;

/** Whether the signing key is young enough that KMS may not yet let the issuers use it. */
export function mayAwaitAuthorization(key: Pick<RegisteredKey, 'createdAt'>, nowSeconds: number): boolean {
  return nowSeconds - key.createdAt < KMS_AUTHORIZATION_DELAY_SECONDS;
}

/**
 * The key to sign with while KMS does not yet let the issuers use the new signing key: the newest
 * retired key whose window still covers a token signed now (`lifetimeSeconds`: access-token
 * lifetime + clock skew), so the token verifies until it expires. None when the old key was
 * retired with a shorter window (a compromised key is retired with 0: it never signs again).
 */
export function fallbackSigningKey(registry: KeyRegistry, nowSeconds: number, lifetimeSeconds: number): RegisteredKey | undefined {
  let best: RegisteredKey | undefined;
  for (const key of registry.keys) {
    if (key.retiredAt === undefined || key.verifyUntil === undefined) continue;
    if (key.verifyUntil < nowSeconds + lifetimeSeconds) continue;
    if (best === undefined || (best.retiredAt ?? 0) <= key.retiredAt) best = key;
  }
  return best;
}

/** Whether `key` verifies tokens at `nowSeconds` (unretired keys always do). */
export function verifiesAt(key: Pick<RegisteredKey, 'verifyUntil'>, nowSeconds: number): boolean {
  return key.verifyUntil === undefined || nowSeconds <= key.verifyUntil;
}

/** Every key that verifies at `nowSeconds`, the signing key first (so JWKS lists it first). */
export function verifyingKeysOf(registry: KeyRegistry, nowSeconds: number): RegisteredKey[] {
  const signing = signingKeyOf(registry);
  return [signing, ...registry.keys.filter((key) => key !== signing && verifiesAt(key, nowSeconds))];
}

/** The keys a deployment names at deploy time (`VERIFY_KEY_IDS`, `ADDITIONAL_VERIFY_KEY_IDS`). */
export interface DeployTimeKeys {
  /** Every key that verifies until the first rotation writes the registry. */
  readonly verifyKeyIds: readonly string[];
  /** Keys managed elsewhere, trusted on purpose: they verify before and after rotations alike. */
  readonly additionalVerifyKeyIds: readonly string[];
}

/** A key to verify with: its KMS id, and for a registry key the `kid` and window it was written with. */
export interface TrustedKey {
  readonly keyId: string;
  readonly kid: string | undefined;
  readonly verifyUntil: number | undefined;
}

/**
 * Which keys verify at `nowSeconds`. Before the first rotation, the deploy-time keys. After it,
 * the registry's (signing key first), plus the keys trusted from elsewhere, which no rotation of
 * ours replaces (they leave with a deployment that drops them); this deployment's own deploy-time
 * keys follow the registry from then on.
 */
export function keysToVerify(registry: KeyRegistry | undefined, deployTime: DeployTimeKeys, nowSeconds: number): TrustedKey[] {
  const asDeployed = (keyId: string): TrustedKey => ({ keyId, kid: undefined, verifyUntil: undefined });
  if (registry === undefined) return deployTime.verifyKeyIds.map(asDeployed);
  const registered: TrustedKey[] = verifyingKeysOf(registry, nowSeconds).map(({ keyId, kid, verifyUntil }) => ({ keyId, kid, verifyUntil }));
  const elsewhere = deployTime.additionalVerifyKeyIds.filter((keyId) => !registered.some((key) => key.keyId === keyId)).map(asDeployed);
  return [...registered, ...elsewhere];
}

/**
 * The next instant (epoch seconds) at which one of these keys stops verifying, or `Infinity`: a
 * verifier holding the keys drops that key then by itself, without waiting for a reload.
 */
export function nextVerifyDeadline(keys: readonly Pick<RegisteredKey, 'verifyUntil'>[], nowSeconds: number): number {
  let next = Number.POSITIVE_INFINITY;
  for (const key of keys) {
    if (key.verifyUntil !== undefined && key.verifyUntil >= nowSeconds && key.verifyUntil < next) next = key.verifyUntil;
  }
  return next;
}

/**
 * How long a retired key must keep verifying: the longest an access token it signed just before
 * its retirement can still be accepted (lifetime + the verifiers' clock-skew leeway).
 */
export function retirementWindowSeconds(lifetimes: { readonly accessTokenTtlSeconds: number; readonly clockSkewSeconds: number }): number {
  return lifetimes.accessTokenTtlSeconds + lifetimes.clockSkewSeconds;
}

export interface KeyRotation {
  /** The new key (it signs from the moment the registry is written). */
  readonly key: Omit<RegisteredKey, 'retiredAt' | 'verifyUntil' | 'createdAt'>;
  readonly nowSeconds: number;
  /** How long the keys retired now keep verifying (`retirementWindowSeconds`, or an operator's choice). */
  readonly retireWindowSeconds: number;
}

/**
 * The registry after a rotation: every unretired key retired now (verifying for the window), keys
 * whose window has passed dropped, the new key added, the version bumped. Refuses a key of another
 * algorithm (verifiers accept one algorithm, RFC 8725 §3.1) and a key that is already listed.
 */
export function rotateRegistry(registry: KeyRegistry, rotation: KeyRotation): KeyRegistry {
  const { key, nowSeconds, retireWindowSeconds } = rotation;
  checkRotation(registry, nowSeconds, retireWindowSeconds);
  const current = signingKeyOf(registry);
  if (key.alg !== current.alg) {
    throw new ConfigurationError(`the new key is for ${key.alg} but this deployment signs with ${current.alg}`);
  }
  if (registry.keys.some((listed) => listed.keyId === key.keyId || listed.kid === key.kid)) {
    throw new ConfigurationError('the new key is already in the key registry');
  }
  const kept = registry.keys
    .map((listed): RegisteredKey =>
      listed.retiredAt !== undefined ? listed : { ...listed, retiredAt: nowSeconds, verifyUntil: nowSeconds + retireWindowSeconds },
    )
    .filter((listed) => verifiesAt(listed, nowSeconds));
  // A createdAt never below the keys it follows, so "newest unretired" stays this key even if the
  // operator's clock is behind the one that wrote the previous rotation.
  const createdAt = Math.max(nowSeconds, ...registry.keys.map((listed) => listed.createdAt));
  const keys = [...kept, { ...key, createdAt }];
  return { version: registry.version + 1, keys };
}

/**
 * What a rotation checks that does not depend on the new key, so that the operator's CLI refuses
 * before it creates a KMS key: a usable window, and room for one more key.
 */
export function checkRotation(registry: KeyRegistry, nowSeconds: number, retireWindowSeconds: number): void {
  if (!Number.isSafeInteger(retireWindowSeconds) || retireWindowSeconds < 0) {
    throw new ConfigurationError('the retirement window must be a whole number of seconds, 0 or more');
  }
  const kept = registry.keys.filter((listed) => listed.retiredAt === undefined || verifiesAt(listed, nowSeconds)).length;
  if (kept + 1 > MAX_REGISTRY_KEYS) {
    throw new ConfigurationError(
      `at most ${MAX_REGISTRY_KEYS} keys can verify at once; wait until older keys have left the registry (list-keys) before rotating again`,
    );
  }
}

/** The registry a first rotation starts from: the key the deployment signs with today, unretired. */
export function seedRegistry(key: Omit<RegisteredKey, 'retiredAt' | 'verifyUntil'>): KeyRegistry {
  return { version: 0, keys: [{ ...key }] };
}

const epochSeconds = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Narrows a registry read from the table (already unmarshalled to plain values). Anything that is
 * not a registry this code wrote is a `ConfigurationError`: a verifier must never guess which
 * keys to trust.
 */
export function parseKeyRegistry(value: unknown): KeyRegistry {
  const bad = (detail: string): ConfigurationError => new ConfigurationError(`the key registry item is malformed: ${detail}`);
  if (!isRecord(value)) throw bad('not an item');
  const { version, keys } = value;
  if (!epochSeconds(version)) throw bad('version');
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > MAX_REGISTRY_KEYS) throw bad('keys');
  const parsed = (keys as unknown[]).map((entry): RegisteredKey => {
    if (!isRecord(entry)) throw bad('key entry');
    const { keyId, kid, alg, createdAt, retiredAt, verifyUntil } = entry;
    if (typeof keyId !== 'string' || keyId === '' || keyId.length > 2048) throw bad('keyId');
    if (typeof kid !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(kid)) throw bad('kid');
    if (!isSigningAlgorithm(alg)) throw bad('alg');
    if (!epochSeconds(createdAt)) throw bad('createdAt');
    if ((retiredAt === undefined) !== (verifyUntil === undefined)) throw bad('retiredAt and verifyUntil go together');
    if (retiredAt !== undefined && (!epochSeconds(retiredAt) || !epochSeconds(verifyUntil) || verifyUntil < retiredAt)) {
      throw bad('retiredAt/verifyUntil');
    }
    return retiredAt === undefined ? { keyId, kid, alg, createdAt } : { keyId, kid, alg, createdAt, retiredAt, verifyUntil: verifyUntil as number };
  });
  if (new Set(parsed.map((key) => key.kid)).size !== parsed.length) throw bad('the same key twice');
  if (new Set(parsed.map((key) => key.alg)).size !== 1) throw bad('keys of more than one algorithm');
  const registry = { version, keys: parsed };
  signingKeyOf(registry);
  return registry;
}
