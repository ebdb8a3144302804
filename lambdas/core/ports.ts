/**
 * The collaborators the domain needs, as interfaces. Production implementations live in
 * `lambdas/adapters/` (the only code that talks to AWS); tests pass fakes or the same adapters
 * pointed at DynamoDB Local and the KMS stand-in.
 */
import type { SigningAlgorithm } from './token-model.ts';

export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
  /** Resolves after `ms` milliseconds (login waits out the second of a logout-everywhere). */
  sleep(ms: number): Promise<void>;
}

export interface RandomSource {
  bytes(length: number): Uint8Array;
}

/** Signs a JWS signing input (RFC 7515 §5.1 step 5) and returns the JWS signature bytes. */
export interface TokenSigner {
  readonly alg: SigningAlgorithm;
  /** RFC 7638 thumbprint of the public key; resolved once per container. */
  kid(): Promise<string>;
  /** Returns the JWS Signature: for ES256 the 64-byte R||S (RFC 7518 §3.4), not DER. */
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

export type UserStatus = 'active' | 'disabled';

export interface UserRecord {
  readonly username: string;
  readonly sub: string;
  /** PHC string, e.g. `$argon2id$v=19$m=19456,t=2,p=1$salt$hash`. */
  readonly passwordHash: string;
  readonly scopes: readonly string[];
  readonly status: UserStatus;
}

export interface UserDirectory {
  /** Strongly consistent read; `undefined` when there is no such user. */
  findUser(username: string): Promise<UserRecord | undefined>;
  /** Replaces the hash only if it is still `previousHash` (a concurrent change wins). */
  replacePasswordHash(username: string, previousHash: string, nextHash: string): Promise<void>;
}

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
}

export interface NewFamily extends RefreshFamily {
  readonly tokenHash: string;
}

export interface Rotation {
  readonly sub: string;
  readonly fid: string;
  readonly presentedHash: string;
  readonly nextHash: string;
  readonly nowSeconds: number;
  readonly nextExpiresAt: number;
}

export type RotationResult =
  | { readonly outcome: 'rotated'; readonly family: RefreshFamily }
  /** No such family, or the presented token was never one of its tokens. */
  | { readonly outcome: 'unknown' }
  /** The family is revoked or expired. */
  | { readonly outcome: 'inactive' }
  /** A token of this family that is no longer the current one: reuse (RFC 9700 §4.14.2). */
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

export interface SessionStore {
  /**
   * Stores a new family in one atomic step, unless the user has an unexpired logout-everywhere
   * whose instant is at or after `check.loginStartedMs` (it ran while this login did), or whose
   * second is at or after `family.authTime` (the authorizer would deny the new tokens, see
   * `core/denylist-policy.ts`). Then nothing is stored and the answer carries that logout.
   */
  createFamily(family: NewFamily, check: FamilyCreationCheck): Promise<FamilyCreation>;
  /** One conditional write: consumes `presentedHash` and makes `nextHash` current. */
  rotate(rotation: Rotation): Promise<RotationResult>;
  /** Puts `presentedHash` back when the new tokens could not be issued (KMS failed). */
  undoRotation(rotation: Rotation): Promise<void>;
  /** Revokes one family and denies its `sid`; true if it was active. */
  revokeFamily(sub: string, fid: string, revocation: SessionRevocation, onlyIfHash?: string): Promise<boolean>;
  /**
   * Logout everywhere: denies every token of `sub` with `auth_time <= nowSeconds` and revokes every
   * family that began by then; returns how many it revoked.
   */
  revokeAllFamilies(sub: string, revocation: SessionRevocation): Promise<number>;
  /** Active families of a user (operator CLI). */
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

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** Constant work whatever the outcome; false for a malformed hash. */
  verify(phc: string, password: string): Promise<boolean>;
  /** True when `phc` was made with other parameters than the current ones. */
  needsRehash(phc: string): boolean;
  /** A valid hash of a random password, so an unknown user costs the same work as a known one. */
  readonly decoyHash: Promise<string>;
}

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

export interface ThrottleCounters {
  /** Strongly consistent read of the three counters of `key`. */
  read(key: ThrottleKey): Promise<Readonly<Partial<Record<CounterKind, CounterState>>>>;
  count(key: ThrottleKey, kind: CounterKind, plan: CountPlan, nowMs: number, windowMs: number): Promise<CountResult>;
  /** Takes one counted attempt back (never below 0). */
  uncount(key: ThrottleKey, kind: CounterKind): Promise<void>;
  clear(key: ThrottleKey, kind: CounterKind): Promise<void>;
}

/** Devices that signed in before (OWASP "Slow Down Online Guessing Attacks with Device Cookies"). */
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
