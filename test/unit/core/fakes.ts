/**
 * In-memory fakes for the core's ports. Every fake records what it was asked into one shared
 * `calls` log, so tests can assert on call order across collaborators (e.g. sign before store).
 */
import { vi } from 'vitest';
import type { IssuerConfig } from '../../../lambdas/core/config.ts';
import type { Admission, LoginAttempt, LoginThrottle } from '../../../lambdas/core/login-throttle.ts';
import type { LoginDeps } from '../../../lambdas/core/login.ts';
import type {
  Clock,
  FamilyCreation,
  FamilyCreationCheck,
  NewFamily,
  PasswordHasher,
  RandomSource,
  RefreshFamily,
  Rotation,
  RotationResult,
  SessionRevocation,
  SessionStore,
  TokenDenylist,
  TokenSigner,
  UserDirectory,
  UserRecord,
} from '../../../lambdas/core/ports.ts';

/** 2026-01-01T00:00:00.500Z: a non-whole second, so flooring to seconds is observable. */
export const NOW_MS = Date.UTC(2026, 0, 1) + 500;
export const NOW_S = Math.floor(NOW_MS / 1000);

export const SUB = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

export const CONFIG: IssuerConfig = {
  issuer: 'https://auth.example.com',
  audience: 'https://api.example.com',
  clientId: 'kms-jwt-auth',
  alg: 'ES256',
  accessTokenTtlSeconds: 900,
  refreshTokenTtlSeconds: 7 * 86_400,
  refreshAbsoluteTtlSeconds: 30 * 86_400,
  reusePolicy: 'family',
  clockSkewSeconds: 60,
  refreshGraceSeconds: 30,
};

export type CallLog = string[];

/** Stands still, except that `sleep` moves it forward by the time slept (recorded in `slept`). */
export function fixedClock(nowMs = NOW_MS): Clock & { readonly slept: number[] } {
  let now = nowMs;
  const slept: number[] = [];
  return {
    slept,
    nowMs: () => now,
    sleep(ms: number): Promise<void> {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

/** Deterministic bytes: each call returns a fresh run of a counter, so no two calls repeat. */
export function countingRandom(): RandomSource & { readonly requests: number[] } {
  let next = 1;
  const requests: number[] = [];
  return {
    requests,
    bytes(length: number): Uint8Array {
      requests.push(length);
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 1) {
        out[i] = next & 0xff;
        next += 1;
      }
      return out;
    },
  };
}

export const FAKE_SIGNATURE = new Uint8Array(64).fill(7);

export function fakeSigner(calls: CallLog, fail?: unknown): TokenSigner & { readonly inputs: Uint8Array[] } {
  const inputs: Uint8Array[] = [];
  return {
    alg: 'ES256',
    inputs,
    current: () =>
      Promise.resolve({
        kid: 'kid-1',
        sign(signingInput: Uint8Array): Promise<Uint8Array> {
          calls.push('sign');
          inputs.push(signingInput);
          return fail === undefined ? Promise.resolve(FAKE_SIGNATURE) : Promise.reject(fail);
        },
      }),
  };
}

export interface FakeSessions extends SessionStore {
  readonly created: NewFamily[];
  /** Every createFamily call, stored or not, with its check. */
  readonly creations: { family: NewFamily; check: FamilyCreationCheck }[];
  readonly rotations: Rotation[];
  readonly undone: Rotation[];
  readonly revokedFamilies: { sub: string; fid: string; revocation: SessionRevocation; onlyIfHash: string | undefined }[];
  readonly revokedUsers: { sub: string; revocation: SessionRevocation }[];
}

export interface SessionBehaviour {
  readonly rotateResult?: RotationResult;
  readonly createError?: unknown;
  /** Answers of successive createFamily calls; 'created' once they run out. */
  readonly createOutcomes?: readonly FamilyCreation[];
  readonly revokeFamilyResult?: boolean;
  readonly revokeAllResult?: number;
  /** The tag key `familyTokenKey` answers with; `undefined` for a family that does not exist. */
  readonly familyTokenKey?: Uint8Array | undefined;
}

/** The tag key of the families `fakeSessions` knows, unless a test says otherwise. */
export const FAMILY_TOKEN_KEY = new Uint8Array(32).fill(0x99);

export function fakeSessions(calls: CallLog, behaviour: SessionBehaviour = {}): FakeSessions {
  const created: NewFamily[] = [];
  const creations: FakeSessions['creations'] = [];
  const outcomes = [...(behaviour.createOutcomes ?? [])];
  const rotations: Rotation[] = [];
  const undone: Rotation[] = [];
  const revokedFamilies: FakeSessions['revokedFamilies'] = [];
  const revokedUsers: FakeSessions['revokedUsers'] = [];
  return {
    created,
    creations,
    rotations,
    undone,
    revokedFamilies,
    revokedUsers,
    createFamily(family: NewFamily, check: FamilyCreationCheck): Promise<FamilyCreation> {
      calls.push('createFamily');
      creations.push({ family, check });
      if (behaviour.createError !== undefined) return Promise.reject(behaviour.createError);
      const outcome = outcomes.shift() ?? { outcome: 'created' };
      if (outcome.outcome === 'created') created.push(family);
      return Promise.resolve(outcome);
    },
    rotate(rotation: Rotation): Promise<RotationResult> {
      calls.push('rotate');
      rotations.push(rotation);
      return Promise.resolve(behaviour.rotateResult ?? { outcome: 'unknown' });
    },
    undoRotation(rotation: Rotation): Promise<void> {
      calls.push('undoRotation');
      undone.push(rotation);
      return Promise.resolve();
    },
    familyTokenKey(): Promise<Uint8Array | undefined> {
      calls.push('familyTokenKey');
      return Promise.resolve('familyTokenKey' in behaviour ? behaviour.familyTokenKey : FAMILY_TOKEN_KEY);
    },
    revokeFamily(sub: string, fid: string, revocation: SessionRevocation, onlyIfHash?: string): Promise<boolean> {
      calls.push('revokeFamily');
      revokedFamilies.push({ sub, fid, revocation, onlyIfHash });
      return Promise.resolve(behaviour.revokeFamilyResult ?? true);
    },
    endSession(sub: string, family: Pick<RefreshFamily, 'fid' | 'sid'>, revocation: SessionRevocation): Promise<boolean> {
      calls.push('endSession');
      revokedFamilies.push({ sub, fid: family.fid, revocation, onlyIfHash: undefined });
      return Promise.resolve(behaviour.revokeFamilyResult ?? true);
    },
    revokeAllFamilies(sub: string, revocation: SessionRevocation): Promise<number> {
      calls.push('revokeAllFamilies');
      revokedUsers.push({ sub, revocation });
      return Promise.resolve(behaviour.revokeAllResult ?? 3);
    },
    listFamilies(): Promise<readonly RefreshFamily[]> {
      calls.push('listFamilies');
      return Promise.resolve([]);
    },
  };
}

export const CURRENT_HASH = '$argon2id$v=19$m=19456,t=2,p=1$current$hash';
export const DECOY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$decoy$hash';

export function activeUser(overrides: Partial<UserRecord> = {}): UserRecord {
  return {
    username: 'alice',
    sub: SUB,
    passwordHash: CURRENT_HASH,
    scopes: ['read', 'write'],
    status: 'active',
    ...overrides,
  };
}

export function fakeUsers(
  calls: CallLog,
  users: readonly UserRecord[],
  replaceError?: unknown,
): UserDirectory & { readonly replaced: { username: string; previousHash: string; nextHash: string }[] } {
  const replaced: { username: string; previousHash: string; nextHash: string }[] = [];
  return {
    replaced,
    findUser(username: string): Promise<UserRecord | undefined> {
      calls.push('findUser');
      return Promise.resolve(users.find((u) => u.username === username));
    },
    replacePasswordHash(username: string, previousHash: string, nextHash: string): Promise<boolean> {
      calls.push('replacePasswordHash');
      if (replaceError !== undefined) return Promise.reject(replaceError);
      replaced.push({ username, previousHash, nextHash });
      return Promise.resolve(true);
    },
  };
}

/** Accepts exactly `password` against any hash in `validHashes`. */
export function fakePasswords(
  calls: CallLog,
  options: { password?: string; validHashes?: readonly string[]; rehash?: boolean; hashError?: unknown } = {},
): PasswordHasher & { readonly verified: string[] } {
  const password = options.password ?? 'correct horse';
  const valid = new Set(options.validHashes ?? [CURRENT_HASH]);
  const verified: string[] = [];
  return {
    verified,
    decoyHash: Promise.resolve(DECOY_HASH),
    hash(plain: string): Promise<string> {
      calls.push('hash');
      if (options.hashError !== undefined) return Promise.reject(options.hashError);
      return Promise.resolve(`$argon2id$v=19$m=19456,t=2,p=1$new$${plain.length}`);
    },
    verify(phc: string, plain: string): Promise<boolean> {
      calls.push('verify');
      verified.push(phc);
      return Promise.resolve(valid.has(phc) && plain === password);
    },
    needsRehash: vi.fn((): boolean => options.rehash ?? false),
  };
}

export const FAKE_DEVICE_TOKEN = 'd'.repeat(43);

export function fakeThrottle(
  calls: CallLog,
  rejectWith?: unknown,
): LoginThrottle & { readonly admitted: LoginAttempt[]; readonly passes: { attempt: LoginAttempt; admission: Admission }[] } {
  const admitted: LoginAttempt[] = [];
  const passes: { attempt: LoginAttempt; admission: Admission }[] = [];
  return {
    admitted,
    passes,
    admit(attempt: LoginAttempt): Promise<Admission> {
      calls.push('admit');
      if (rejectWith !== undefined) return Promise.reject(rejectWith);
      admitted.push(attempt);
      return Promise.resolve({ via: 'limits' });
    },
    passed(attempt: LoginAttempt, admission: Admission): Promise<string> {
      calls.push('passed');
      passes.push({ attempt, admission });
      return Promise.resolve(FAKE_DEVICE_TOKEN);
    },
  };
}

export function fakeDenylist(calls: CallLog): TokenDenylist & { readonly denied: { jti: string; expiresAt: number }[] } {
  const denied: { jti: string; expiresAt: number }[] = [];
  return {
    denied,
    denyToken(_sub: string, jti: string, expiresAt: number): Promise<void> {
      calls.push('denyToken');
      denied.push({ jti, expiresAt });
      return Promise.resolve();
    },
  };
}

export function family(overrides: Partial<RefreshFamily> = {}): RefreshFamily {
  return {
    sub: SUB,
    fid: 'AAAAAAAAAAAAAAAAAAAAAA',
    sid: 'sid-1',
    username: 'alice',
    scope: 'read write',
    clientId: 'kms-jwt-auth',
    authTime: NOW_S - 3600,
    amr: ['pwd'],
    expiresAt: NOW_S + 7 * 86_400,
    absoluteExpiresAt: NOW_S + 20 * 86_400,
    generation: 3,
    ...overrides,
  };
}

/** The JSON payload of a compact JWS, for asserting on issued claims. */
export function jwtPayload(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new Error('not a compact JWS');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Second factors for a login test: no user has one (login issues tokens after the password). */
export function noSecondFactors(): LoginDeps['secondFactors'] {
  return { findTotp: () => Promise.resolve(undefined), createChallenge: () => Promise.resolve() };
}
