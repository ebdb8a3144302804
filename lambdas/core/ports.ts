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
  /**
   * The user asked to delete the account and the deletion has not finished (`core/account-deletion.ts`):
   * the account is disabled, and only finishing the deletion may still use it.
   */
  readonly deletionPending?: boolean | undefined;
  /** Epoch seconds of the last replacement of the hash (`replacePasswordHash`), if any. */
  readonly passwordChangedAt?: number | undefined;
}

/** Implemented by `DynamoDbUserDirectory` (`adapters/dynamodb/user-directory.ts`). */
export interface UserDirectory {
  /** Strongly consistent read; `undefined` when there is no such user. */
  findUser(username: string): Promise<UserRecord | undefined>;
  /** Replaces the hash only if it is still `previousHash` (a concurrent change wins); false if it was not. */
  replacePasswordHash(username: string, previousHash: string, nextHash: string): Promise<boolean>;
}

/**
 * Whether an account has a second factor (NIST SP 800-63B-4 §3.1.1.2: the minimum password length
 * depends on it; deleting such an account requires it). Implemented by `DynamoDbSecondFactors`
 * (`adapters/dynamodb/second-factors.ts`).
 */
export interface SecondFactors {
  /** True iff the user has a confirmed TOTP factor (strongly consistent read). */
  hasSecondFactor(sub: string): Promise<boolean>;
}

/**
 * Erasing an account (`core/account-deletion.ts` owns the order). Implemented by
 * `DynamoDbAccountEraser` (`adapters/dynamodb/account-eraser.ts`). Every method is idempotent, so
 * a deletion interrupted by a fault finishes when it runs again.
 */
export interface AccountEraser {
  /** Disables the user and marks the deletion as begun, only if the user item still carries `sub`; false otherwise. */
  markDeletion(username: string, sub: string): Promise<boolean>;
  /**
   * Deletes the user's items under pk `SUB#<sub>`: with `sessions` false every item except the
   * refresh-token families (factors, recovery codes, passkeys, pending items), with `sessions`
   * true the families. Returns how many it deleted.
   */
  erasePartition(sub: string, part: 'credentials' | 'sessions'): Promise<number>;
  /** Deletes the user item, only if it still carries `sub` (a new account of the same name is left alone). */
  deleteUser(username: string, sub: string): Promise<void>;
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
  /**
   * How the user authenticated at login (RFC 8176 values, the `amr` claim): kept by the family so
   * that refreshed access tokens carry the login's methods. Families stored before it: `["pwd"]`.
   */
  readonly amr: readonly string[];
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
  readonly reason: 'logout' | 'reuse' | 'admin' | 'logout_all' | 'user_disabled' | 'password_changed' | 'account_deleted';
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
   * Ends one session for good, in the order a retry can finish: first its `sid` is denied (its
   * access tokens stop at once), then its family is revoked. A fault between the two leaves the
   * family active, so it is listed, and ended, again. True if it was active.
   */
  endSession(sub: string, family: Pick<RefreshFamily, 'fid' | 'sid'>, revocation: SessionRevocation): Promise<boolean>;
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

// --- Operational metrics (login, refresh, revoke, authorizer) ---

/**
 * Why a login was refused with 401: the password (or the user name) was wrong, or the password
 * was right for a user who is disabled. The client cannot tell them apart (same answer, same
 * work); an operator can.
 */
export type LoginRefusal = 'bad_credentials' | 'user_disabled';

/** What a revocation ended: a refresh token's session, one access token, every session, one own session. */
export type RevocationKind = 'session' | 'access_token' | 'logout_all' | 'own_session';

/**
 * What the token functions count, one call per event. Never given a user, a sub, an address or a
 * token: metrics are aggregates, and each distinct dimension value costs a metric of its own.
 * An implementation never throws (a metric must not fail a request). Implemented by
 * `PowertoolsAuthMetrics` (`lambdas/http/metrics.ts`, CloudWatch EMF through Powertools Metrics).
 */
export interface AuthMetrics {
  loginSucceeded(): void;
  loginFailed(reason: LoginRefusal): void;
  /** Refused with 429 by the login throttle. */
  loginThrottled(): void;
  /** A rotation: a new refresh token was issued. */
  refreshSucceeded(): void;
  /** A retry within the grace period got the successor already issued. */
  refreshGraceRetry(): void;
  /** A superseded refresh token came back: its family (or every session of the user) was revoked. */
  refreshReuseDetected(): void;
  /** A refresh token that is malformed, forged, expired or revoked (401 `invalid_grant`), reuse aside. */
  refreshInvalid(): void;
  revocation(kind: RevocationKind): void;
}

/** The authorizer's decision as an operator counts it: allowed, or denied with 401, 403 or 503. */
export type AuthorizerOutcome = 'allow' | 'deny_401' | 'deny_403' | 'unavailable_503';

/**
 * What the authorizer counts: one decision and how long it took, per invocation. Implemented by
 * `EmfAuthorizerMetrics` (`lambdas/adapters/aws/emf-metrics.ts`, CloudWatch EMF); never throws.
 */
export interface AuthorizerMetrics {
  decision(outcome: AuthorizerOutcome, latencyMs: number): void;
}

// --- Second factor: TOTP (account, login; rules in core/totp.ts, core/mfa-login.ts) ---

/**
 * Seals TOTP secrets under the MFA key, bound to their user: KMS `Encrypt` / `Decrypt` with the
 * encryption context `{ purpose: "totp", sub }`, so a sealed secret copied to another user's item
 * does not open. Implemented by `KmsSecretSealer` (`adapters/kms/secret-sealer.ts`). Rejects with
 * `DependencyUnavailableError` when KMS cannot answer.
 */
export interface SecretSealer {
  seal(sub: string, secret: Uint8Array): Promise<Uint8Array>;
  open(sub: string, sealed: Uint8Array): Promise<Uint8Array>;
}

/** A confirmed TOTP factor (item sk `FACTOR#TOTP`). */
export interface TotpFactor {
  readonly sub: string;
  /** Random id of this enrolment: its recovery codes carry it, so codes of an earlier one never count. */
  readonly factorId: string;
  readonly sealedSecret: Uint8Array;
  /** The last time step accepted (RFC 6238 §5.2: each code is accepted once). */
  readonly lastStep: number;
}

/** An enrolment waiting for its first code (item sk `PENDING#TOTP`, with a TTL). */
export interface PendingTotp {
  readonly sub: string;
  readonly sealedSecret: Uint8Array;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** What proves the second factor in one request: a TOTP step, or a recovery code (by hash). */
export type FactorProof =
  | { readonly kind: 'otp'; readonly factorId: string; readonly step: number }
  | { readonly kind: 'recovery_code'; readonly factorId: string; readonly codeHash: string };

/**
 * A login waiting for its second factor, found by the SHA-256 of its `mfa_token`. It carries what
 * the password step decided, so the second step cannot change it.
 */
export interface MfaChallenge {
  readonly tokenHash: string;
  readonly sub: string;
  readonly username: string;
  /** The granted scope (space-separated). */
  readonly scope: string;
  readonly clientId: string;
  readonly delivery: 'body' | 'cookie';
  /** SHA-256 of the device token the password step was admitted with as a trusted device, if any. */
  readonly deviceHash: string | undefined;
  readonly factorId: string;
  /** Wrong codes so far. */
  readonly failures: number;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** Implemented by `DynamoDbSecondFactors` (`adapters/dynamodb/second-factors.ts`). */
export interface SecondFactorStore {
  /** The confirmed factor (strongly consistent read), or `undefined`. */
  findTotp(sub: string): Promise<TotpFactor | undefined>;
  findPendingTotp(sub: string, nowSeconds: number): Promise<PendingTotp | undefined>;
  /** Stores (or replaces) the pending enrolment. */
  savePendingTotp(pending: PendingTotp): Promise<void>;
  /**
   * In one transaction: the factor (only if the user has none), its recovery code hashes, and the
   * pending enrolment deleted (only if it is still the one confirmed). False: nothing written.
   */
  confirmTotp(factor: TotpFactor, pendingSealed: Uint8Array, recoveryCodeHashes: readonly string[], nowSeconds: number): Promise<boolean>;
  /**
   * Removes the factor if `proof` holds (a step later than the last accepted one, or an unused
   * recovery code of this factor), consuming the proof in the same transaction; then its recovery
   * codes and any pending enrolment. False: the proof was refused and nothing changed.
   */
  removeTotp(sub: string, proof: FactorProof): Promise<boolean>;
  /** Whether an unused recovery code of this factor has this hash (strongly consistent read). */
  hasRecoveryCode(sub: string, factorId: string, codeHash: string): Promise<boolean>;
  /** Operator reset: the factor, the pending enrolment and every recovery code, whatever they are. */
  resetTotp(sub: string): Promise<boolean>;
  createChallenge(challenge: MfaChallenge): Promise<void>;
  /** The challenge, unless absent or expired. */
  findChallenge(tokenHash: string, nowSeconds: number): Promise<MfaChallenge | undefined>;
  /** Counts one wrong code against the challenge. */
  recordChallengeFailure(tokenHash: string): Promise<void>;
  /**
   * Completes a challenge in one transaction: deletes it (only if unexpired and under
   * `maxFailures`: one winner among concurrent uses) and consumes the proof (the step only if
   * later than the last accepted one; the recovery code only if unused).
   */
  completeChallenge(
    challenge: Pick<MfaChallenge, 'tokenHash' | 'sub'>,
    proof: FactorProof,
    nowSeconds: number,
    maxFailures: number,
  ): Promise<'completed' | 'challenge_gone' | 'proof_refused'>;
}

// --- Passkeys (login, account, operator CLI; rules in `core/passkeys.ts`) ---

/** A registered passkey (WebAuthn credential) of a user, as stored. */
export interface StoredPasskey {
  readonly sub: string;
  /** The credential id, base64url (WebAuthn §6.1, `credentialId`): also the passkey's id in the API. */
  readonly credentialId: string;
  /** The credential public key as the authenticator sent it (COSE_Key, RFC 9052 §7). Public, not secret. */
  readonly publicKey: Uint8Array;
  /** The signature counter last seen (WebAuthn §6.1.1); 0 while the authenticator does not count. */
  readonly counter: number;
  readonly transports: readonly string[];
  /** Backup state (BS flag, WebAuthn §6.1): the private key is synced beyond this device. */
  readonly backedUp: boolean;
  /** Backup eligibility (BE flag): `multiDevice` credentials may be synced. */
  readonly deviceType: 'singleDevice' | 'multiDevice';
  /** The username the passkey was registered for (users are stored by username). */
  readonly username: string;
  readonly name: string;
  /** Epoch seconds. */
  readonly createdAt: number;
  readonly lastUsedAt: number | undefined;
}

/** A passkey sign-in as the store records it: the new counter, only if the stored one allows it. */
export interface PasskeyUse {
  readonly counter: number;
  readonly backedUp: boolean;
  readonly nowSeconds: number;
}

/** Implemented by `DynamoDbPasskeys` (`adapters/dynamodb/passkeys.ts`). */
export interface PasskeyStore {
  /** The user's passkeys, strongly consistent. */
  list(sub: string): Promise<readonly StoredPasskey[]>;
  find(sub: string, credentialId: string): Promise<StoredPasskey | undefined>;
  /** Stores a new passkey; false (nothing written) when the user has one with this credential id. */
  add(passkey: StoredPasskey): Promise<boolean>;
  /**
   * Records a sign-in in one conditional write: the counter must still be below `use.counter`
   * (or both 0: an authenticator that does not count), and the passkey must still exist. False:
   * refused, nothing written (a cloned authenticator, a concurrent use, a removed passkey).
   */
  recordUse(sub: string, credentialId: string, use: PasskeyUse): Promise<boolean>;
  /** Removes one passkey of `sub`; false when it has none with this id. */
  remove(sub: string, credentialId: string): Promise<boolean>;
}

/** What a WebAuthn challenge was issued for: one user's registration, or a sign-in by anyone. */
export type WebAuthnCeremony = { readonly purpose: 'registration'; readonly sub: string } | { readonly purpose: 'authentication' };

/** Implemented by `DynamoDbWebAuthnChallenges` (`adapters/dynamodb/webauthn-challenges.ts`). */
export interface WebAuthnChallenges {
  /** Stores a new challenge (base64url) for `ceremony`, expiring at `expiresAt` (epoch seconds). */
  issue(challenge: string, ceremony: WebAuthnCeremony, expiresAt: number): Promise<void>;
  /**
   * Deletes the challenge in one conditional write if it exists, was issued for `ceremony` and has
   * not expired. True only for the one call that deleted it: a challenge is used at most once.
   */
  consume(challenge: string, ceremony: WebAuthnCeremony, nowSeconds: number): Promise<boolean>;
}
