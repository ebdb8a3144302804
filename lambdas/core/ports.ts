/**
 * Every port: the collaborators the domain and the handlers need, as interfaces, with the plain
 * records they exchange. Production implementations live in `lambdas/adapters/` (the only code
 * that talks to AWS); tests pass fakes or the same adapters pointed at DynamoDB Local and the KMS
 * stand-in. Grouped by concern; each port says who implements it.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import type { StoredRevocationState } from './denylist-policy.ts';
import type { KeyRegistry } from './key-registry.ts';
import type { ParsedRefreshToken } from './refresh-token.ts';
import type { SigningAlgorithm } from './token-model.ts';

// --- Time, randomness and signing (login, refresh) ---

/** Implemented by `systemClock` (`adapters/runtime.ts`). */

export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  /** Resolves after `ms` milliseconds (login waits out the second of a logout-everywhere). */
  sleep(ms: number): Promise<void>;
}

/** Implemented by `systemRandom` (`adapters/runtime.ts`, node:crypto `randomBytes`). */
export interface RandomSource {
  bytes(length: number): Uint8Array;
}

/**
 * The key that signs now. Implemented by `RegistrySigner` (`adapters/kms/registry-signer.ts`: the
 * key registry's signing key, else the deploy-time key) over `KmsSigner` (`adapters/kms/signer.ts`).
 */
export interface TokenSigner {
  readonly alg: SigningAlgorithm;
  /**
   * Chooses the signing key once per token, so that the `kid` in the header and the key that
   * signs are the same even when a rotation lands in between.
   */
  current(): Promise<SigningKeyHandle>;
}

/** One signing key: its `kid` and KMS `Sign` with it. */
export interface SigningKeyHandle {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string;
  /**
   * Signs a JWS signing input (RFC 7515 §5.1 step 5); returns the JWS Signature: for ES256 the
   * 64-byte R||S (RFC 7518 §3.4), not DER.
   */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

// --- Signing-key registry (every function reads it; the operator CLI writes it) ---

/**
 * The registry item (`core/key-registry.ts`). Implemented by `DynamoDbKeyRegistry`
 * (`adapters/dynamodb/key-registry.ts`, the SDK) and `SigV4KeyRegistryReader` (same file's
 * codec, the authorizer's own client).
 */
export interface KeyRegistryReader {
  /** Strongly consistent read; `undefined` when no rotation has ever been made (deploy-time keys apply). */
  read(): Promise<KeyRegistry | undefined>;
}

/** The operator CLI's side of the registry. */
export interface KeyRegistryStore extends KeyRegistryReader {
  /**
   * Writes `next` only if the item still has `expectedVersion` (`undefined`: only if there is no
   * item yet). False when another writer got there first; nothing is written then.
   */
  write(next: KeyRegistry, expectedVersion: number | undefined): Promise<boolean>;
}

// --- Users and passwords (login, operator CLI) ---

export type UserStatus = 'active' | 'disabled';

export interface UserRecord {
  readonly username: string;
  readonly sub: string;
  /** PHC string, e.g. `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`. */
  readonly passwordHash: string;
  readonly scopes: readonly string[];
  readonly status: UserStatus;
}

/** Implemented by `DynamoDbUserDirectory` (`adapters/dynamodb/user-directory.ts`). */
export interface UserDirectory {
  /** Strongly consistent read; `undefined` when there is no such user. */
  findUser(username: string): Promise<UserRecord | undefined>;
  /** Replaces the hash only if it is still `previousHash` (a concurrent change wins). */
  replacePasswordHash(username: string, previousHash: string, nextHash: string): Promise<void>;
}

// --- Refresh-token families (login, refresh, revoke, operator CLI) ---

/** A refresh-token family: one login session and its chain of rotated refresh tokens. */
export interface RefreshFamily {
  readonly sub: string;
  /** Secret family id; appears only inside refresh tokens. */
  readonly fid: string;
  /** Public session id; the `sid` claim of access tokens, key of the session denylist. */
  readonly sid: string;
  readonly username: string;
  readonly scope: string;
  readonly clientId: string;
  /** Epoch seconds when the user authenticated (the `auth_time` claim). */
  readonly authTime: number;
  /** Epoch seconds: end of the sliding window. */
  readonly expiresAt: number;
  /** Epoch seconds: the family dies then, however often it is refreshed. */
  readonly absoluteExpiresAt: number;
  readonly generation: number;
  /** Epoch seconds of the last refresh (rotation); absent before the first. Read-only listing. */
  readonly rotatedAt?: number | undefined;
}

export interface NewFamily extends RefreshFamily {
  readonly tokenHash: string;
  /** The family's random key for refresh-token tags (`core/refresh-token.ts`). */
  readonly tokenKey: Uint8Array;
}

export interface Rotation {
  readonly sub: string;
  readonly fid: string;
  /** The presented token as parsed: generation, body and tag, for the rule on a refused write. */
  readonly presented: Pick<ParsedRefreshToken, 'generation' | 'body' | 'tag'>;
  readonly presentedHash: string;
  readonly nextHash: string;
  /** The successor's secret, sealed for retries of the presented token (`sealSuccessor`). */
  readonly nextSealed: string;
  readonly nowSeconds: number;
  readonly nextExpiresAt: number;
  /** How long the superseded token still gets the same successor (0: never). */
  readonly graceSeconds: number;
}

export type RotationResult =
  /** This request rotated the family (or its write already had, and was retried by the SDK). */
  | { readonly outcome: 'rotated'; readonly family: RefreshFamily; readonly tokenKey: Uint8Array }
  /**
   * The presented token was superseded less than the grace period ago: nothing is rotated, and
   * the answer carries the successor already issued (its secret, unsealed) to hand out again.
   */
  | { readonly outcome: 'resent'; readonly family: RefreshFamily; readonly tokenKey: Uint8Array; readonly successorSecret: Uint8Array }
  /** No such family, or the presented token was never one of its tokens (tampered, forged). */
  | { readonly outcome: 'unknown' }
  /** The family is revoked or expired. */
  | { readonly outcome: 'inactive' }
  /** A token this family issued and superseded, of any generation: reuse (RFC 9700 §4.14.2). */
  | { readonly outcome: 'reused'; readonly family: RefreshFamily };

export interface SessionRevocation {
  readonly reason: 'logout' | 'reuse' | 'admin' | 'logout_all' | 'user_disabled';
  /** When the revocation was made, in milliseconds: a login tells "after it" from "racing it". */
  readonly nowMs: number;
  /** The same instant in whole seconds, as tokens' `auth_time` counts. */
  readonly nowSeconds: number;
  /** Epoch seconds until which the session's access tokens must stay denied. */
  readonly denyUntil: number;
  /**
   * Epoch seconds until which a logout-everywhere entry must stay: past the absolute lifetime of
   * any family it revoked, so a family that escaped revocation (a partial failure) still cannot
   * mint accepted tokens.
   */
  readonly userDenyUntil: number;
}

/** Implemented by `DynamoDbSessionStore` (`adapters/dynamodb/session-store.ts`). */
export interface SessionStore {
  /**
   * Stores a new family in one atomic step, unless the user has an unexpired logout-everywhere
   * whose instant is at or after `check.loginStartedMs` (it ran while this login did), or whose
   * second is at or after `family.authTime` (the authorizer would deny the new tokens, see
   * `core/denylist-policy.ts`). Then nothing is stored and the answer carries that logout.
   */
  createFamily(family: NewFamily, check: FamilyCreationCheck): Promise<FamilyCreation>;
  /**
   * One conditional write: consumes `presentedHash` and makes `nextHash` current. When the write's
   * condition fails, the answer is `refusedRotation` (`core/refresh-classification.ts`) of the
   * family as it read it back.
   */
  rotate(rotation: Rotation): Promise<RotationResult>;
  /** Puts `presentedHash` back when the new tokens could not be issued (KMS failed). */
  undoRotation(rotation: Rotation): Promise<void>;
  /**
   * The family's refresh-token tag key (strongly consistent read), or `undefined` when there is no
   * such family: what /revoke needs to tell a token of the family from a forged one.
   */
  familyTokenKey(sub: string, fid: string): Promise<Uint8Array | undefined>;
  /** Revokes one family and denies its `sid`; true if it was active. */
  revokeFamily(sub: string, fid: string, revocation: SessionRevocation, onlyIfHash?: string): Promise<boolean>;
  /**
   * Logout everywhere: denies every token of `sub` with `auth_time <= nowSeconds` and revokes every
   * family that began by then; returns how many it revoked.
   */
  revokeAllFamilies(sub: string, revocation: SessionRevocation): Promise<number>;
  /** Active families of a user (operator CLI, GET /sessions). */
  listFamilies(sub: string, nowSeconds: number): Promise<readonly RefreshFamily[]>;
}

export interface FamilyCreationCheck {
  /** Epoch seconds, for the expiry of the logout-everywhere entry. */
  readonly nowSeconds: number;
  /** Epoch milliseconds at which the login began. */
  readonly loginStartedMs: number;
}

export type FamilyCreation =
  | { readonly outcome: 'created' }
  /**
   * A logout-everywhere stopped it: `atMs` is when that logout was made (for entries written
   * before milliseconds were stored, the last millisecond of its second), `atSeconds` the second
   * the authorizer compares `auth_time` with.
   */
  | { readonly outcome: 'logged_out_everywhere'; readonly atMs: number; readonly atSeconds: number };

export interface TokenDenylist {
  /** Denies one access token of `sub` until its expiry (in the user's revocation item). */
  denyToken(sub: string, jti: string, expiresAt: number): Promise<void>;
}

/**
 * Implemented in the core by `Argon2idHasher` (`core/passwords.ts`, pure computation): a port all
 * the same, so tests can pass a cheap hasher.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant work whatever the outcome; false for a malformed hash. */
  verify(phc: string, password: string): Promise<boolean>;
  /** True when `phc` was made with other parameters than the current ones. */
  needsRehash(phc: string): boolean;
  /** A valid hash of a random password, so an unknown user costs the same work as a known one. */
  readonly decoyHash: Promise<string>;
}

// --- Login throttling (login; policy in `core/login-throttle.ts`) ---

/** Who is guessing: the username tried and the address it came from. */
export interface ThrottleKey {
  readonly username: string;
  readonly sourceIp: string;
}

/** The login-throttle counters (policy in `login-throttle.ts`). */
export type CounterKind = 'user_ip' | 'user' | 'ip';

export interface CounterState {
  /** Attempts counted in this window, each counted before its password was checked. */
  readonly attempts: number;
  /** Epoch ms of the last counted attempt. */
  readonly lastAttemptAt: number;
  /** Epoch ms after which the counter no longer counts. */
  readonly windowEndsAt: number;
}

/**
 * How to count one attempt, decided by the core from the state it last saw; the store applies it
 * as one conditional write, so that concurrent attempts are each counted exactly once.
 */
export type CountPlan =
  /** No counter, or its window ended: start again at 1 (only if still so). */
  | { readonly mode: 'start' }
  /** Below the threshold: add 1 only while still below it. */
  | { readonly mode: 'below'; readonly threshold: number }
  /** At or over the threshold and its delay has passed: add 1 only if nobody counted since `seen`. */
  | { readonly mode: 'exact'; readonly seen: CounterState };

export type CountResult =
  | { readonly counted: true }
  /** The condition failed: the counter as it is now (undefined: absent). */
  | { readonly counted: false; readonly current: CounterState | undefined };

/** Implemented by `DynamoDbThrottleCounters` (`adapters/dynamodb/throttle-counters.ts`). */
export interface ThrottleCounters {
  /** Strongly consistent read of the three counters of `key`. */
  read(key: ThrottleKey): Promise<Readonly<Partial<Record<CounterKind, CounterState>>>>;
  count(key: ThrottleKey, kind: CounterKind, plan: CountPlan, nowMs: number, windowMs: number): Promise<CountResult>;
  /** Takes one counted attempt back (never below 0). */
  uncount(key: ThrottleKey, kind: CounterKind): Promise<void>;
  clear(key: ThrottleKey, kind: CounterKind): Promise<void>;
}

/**
 * Devices that signed in before (OWASP "Slow Down Online Guessing Attacks with Device Cookies").
 * Implemented by `DynamoDbTrustedDevices` (`adapters/dynamodb/trusted-devices.ts`).
 */
export interface TrustedDevices {
  /**
   * Counts one attempt on the device whose token hashes to `hash`, only if it is bound to
   * `username`, unexpired, and has had fewer than `maxAttempts` attempts since its last correct
   * password. False: not a trusted device for this user (unknown, expired, other user, locked out).
   */
  countAttempt(hash: string, username: string, maxAttempts: number, nowMs: number): Promise<boolean>;
  /** A correct password from the device: its attempts go back to 0 and its lifetime is renewed. */
  renew(hash: string, username: string, nowMs: number, expiresAtMs: number): Promise<boolean>;
  /** Stores a new device (its token's hash only) bound to `username`. */
  remember(hash: string, username: string, expiresAtMs: number): Promise<void>;
}

// --- Verification keys (authorizer, /revoke, JWKS) ---

/**
 * A public key the access-token verifier may use: the `KeyObject`, its RFC 7638 `kid`, and the
 * one algorithm the KEY decides (RFC 8725 §3.1: never the header). Built only by
 * `core/verification-key.ts`, which checks the key once when it is loaded.
 */
export interface VerificationKey {
  /** RFC 7638 SHA-256 thumbprint, base64url: the `kid` our issuer puts in the header. */
  readonly kid: string;
  readonly alg: SigningAlgorithm;
  readonly keyObject: KeyObject;
}

/** The lookup the verifier uses: a `Map`, never a plain object (`__proto__` must not be a kid). */
export type KeyLookup = ReadonlyMap<string, VerificationKey>;

/**
 * Where the authorizer's keys come from when they are fixed at deploy time, read once per
 * container. Implemented by `StaticJwksSource` (`adapters/kms/public-key-source.ts`, `PUBLIC_JWKS`).
 */
export interface PublicKeySource {
  /** All current keys by kid. Rejects with `DependencyUnavailableError` when KMS cannot answer. */
  load(): Promise<Map<string, VerificationKey>>;
}

/**
 * The authorizer's current keys, with a rate-limited reload for a kid it does not hold.
 * Implemented by `RegistryKeyRing` (`adapters/kms/registry-key-ring.ts`, the key registry) and
 * `PublicKeyRing` (`adapters/kms/public-key-source.ts`, a deploy-time JWKS).
 */
export interface VerificationKeyRing {
  /** The current keys; rejects with `DependencyUnavailableError` while they cannot be loaded. */
  current(): Promise<KeyLookup>;
  /** Reloads for an unknown kid, at most once per cooldown; `undefined` when no reload was allowed. */
  reloadForUnknownKid(): Promise<KeyLookup | undefined>;
}

/** A verification key read from KMS, with its KMS key id and its public JWK as published. */
export interface PublishedKey extends VerificationKey {
  readonly keyId: string;
  /** The public JWK as published (RFC 7517), with `kid`, `alg` and `use`. */
  readonly jwk: JsonWebKey & { readonly kid: string; readonly alg: SigningAlgorithm; readonly use: 'sig' };
}

/**
 * The keys the JWKS endpoint publishes and /revoke verifies access tokens with. Implemented by
 * `RegistryKeyRing.publishedKeySet()` (`adapters/kms/registry-key-ring.ts`: the registry's
 * verifying keys, over KMS `GetPublicKey`).
 */
export interface PublishedKeySet {
  /** Every listed key, loaded once; concurrent callers share the load, a failure is retried next time. */
  keys(): Promise<readonly PublishedKey[]>;
  /**
   * For a token whose kid the set does not hold: reloads (rate-limited) and resolves to the new
   * keys, or `undefined` when no reload was allowed. Sets that never change leave it out.
   */
  reloadForUnknownKid?(): Promise<readonly PublishedKey[] | undefined>;
}

// --- Revocation state (authorizer; policy in `core/denylist-policy.ts`) ---

/**
 * The authorizer's one read of a user's revocation state. Implemented by `DynamoDbDenylistReader`
 * (`adapters/dynamodb/denylist-reader.ts`: one strongly consistent GetItem over SigV4) and
 * `CachedDenylistReader` (an optional in-container cache in front of it, off by default).
 */
export interface DenylistReader {
  /** The revocation state of `sub` (no item: nothing revoked). */
  read(sub: string): Promise<StoredRevocationState>;
}
