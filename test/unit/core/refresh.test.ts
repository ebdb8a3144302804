import { describe, expect, it, vi } from 'vitest';
import { DependencyUnavailableError, InvalidGrantError, InvalidRequestError } from '../../../lambdas/core/errors.ts';
import type { ReusePolicy } from '../../../lambdas/core/config.ts';
import type { RotationResult } from '../../../lambdas/core/ports.ts';
import { mintRefreshToken, newFamilyId, parseRefreshToken, tagToken, tokenBody } from '../../../lambdas/core/refresh-token.ts';
import { refresh, type RefreshDeps, type ReuseEvent } from '../../../lambdas/core/refresh.ts';
import {
  CONFIG,
  countingRandom,
  family,
  fakeSessions,
  fakeSigner,
  fixedClock,
  jwtPayload,
  NOW_MS,
  NOW_S,
  SUB,
  type CallLog,
} from './fakes.ts';

const FID = newFamilyId(() => new Uint8Array(16).fill(0x42));
const KEY = new Uint8Array(32).fill(0x5a);
const PRESENTED = mintRefreshToken(SUB, FID, 0, KEY, (n) => new Uint8Array(n).fill(0x99));
const FAMILY = family({ fid: FID });

interface Options {
  rotateResult?: RotationResult;
  signError?: unknown;
  reusePolicy?: ReusePolicy;
  revokeAllResult?: number;
  revokeFamilyResult?: boolean;
}

function setup(options: Options = {}) {
  const calls: CallLog = [];
  const signer = fakeSigner(calls, options.signError);
  const sessions = fakeSessions(calls, {
    rotateResult: options.rotateResult ?? { outcome: 'rotated', family: FAMILY, tokenKey: KEY },
    ...(options.revokeAllResult === undefined ? {} : { revokeAllResult: options.revokeAllResult }),
    ...(options.revokeFamilyResult === undefined ? {} : { revokeFamilyResult: options.revokeFamilyResult }),
  });
  const reuses: ReuseEvent[] = [];
  const onReuse = vi.fn((event: ReuseEvent) => {
    calls.push('onReuse');
    reuses.push(event);
  });
  const deps: RefreshDeps = {
    config: { ...CONFIG, reusePolicy: options.reusePolicy ?? 'family' },
    signer,
    sessions,
    clock: fixedClock(),
    random: countingRandom(),
    onReuse,
  };
  return { calls, signer, sessions, reuses, onReuse, deps };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('refresh should have failed'),
    (e: unknown) => e,
  );
}

describe('refresh: malformed tokens never reach the store', () => {
  const malformed: [string, string][] = [
    ['the empty string', ''],
    ['a truncated token', PRESENTED.token.slice(0, -1)],
    ['a padded token', `${PRESENTED.token}=`],
    ['an access-token-shaped string', 'eyJhbGciOiJFUzI1NiJ9.e30.sig'],
    ['a token with a changed version byte', `C${PRESENTED.token.slice(1)}`],
  ];
  for (const [name, token] of malformed) {
    it(`rejects ${name} with InvalidGrantError and no store call or signature`, async () => {
      const { deps, calls } = setup();
      const error = await failure(refresh(token, deps));
      expect(error).toBeInstanceOf(InvalidGrantError);
      expect(calls).toEqual([]);
    });
  }
});

describe('refresh: rotation', () => {
  it('rotates with the presented hash, a new hash, now and a sliding expiry of now + refresh TTL', async () => {
    const { deps, sessions } = setup();
    const { response } = await refresh(PRESENTED.token, deps);
    expect(sessions.rotations).toEqual([
      {
        sub: SUB,
        fid: FID,
        presented: expect.objectContaining({ generation: 0 }),
        presentedHash: PRESENTED.hash,
        nextHash: parseRefreshToken(response.refresh_token)?.hash,
        nextSealed: expect.stringMatching(/^[A-Za-z0-9_-]{80}$/),
        nowSeconds: NOW_S,
        nextExpiresAt: NOW_S + 7 * 86_400,
        graceSeconds: 30,
      },
    ]);
    expect(parseRefreshToken(response.refresh_token)?.generation).toBe(1);
  });

  it('uses the configured refresh TTL for the sliding expiry, not a constant', async () => {
    const { deps, sessions } = setup();
    await refresh(PRESENTED.token, { ...deps, config: { ...deps.config, refreshTokenTtlSeconds: 3_600 } });
    expect(sessions.rotations[0]?.nextExpiresAt).toBe(NOW_S + 3_600);
  });

  it('signs exactly once, after the rotation', async () => {
    const { deps, calls } = setup();
    await refresh(PRESENTED.token, deps);
    expect(calls).toEqual(['rotate', 'sign']);
  });

  it('returns a new refresh token of the same family that differs from the presented one', async () => {
    const { deps } = setup();
    const { response } = await refresh(PRESENTED.token, deps);
    expect(response.refresh_token).not.toBe(PRESENTED.token);
    expect(parseRefreshToken(response.refresh_token)).toMatchObject({ sub: SUB, fid: FID });
  });

  it('answers with the family scope, expires_in 900 and the time left before the earlier of both expiries', async () => {
    const { deps } = setup({ rotateResult: { outcome: 'rotated', family: family({ fid: FID, expiresAt: NOW_S + 5_000, absoluteExpiresAt: NOW_S + 4_000 }), tokenKey: KEY } });
    const { response } = await refresh(PRESENTED.token, deps);
    expect(response).toMatchObject({ token_type: 'Bearer', expires_in: 900, refresh_expires_in: 4_000, scope: 'read write' });
  });

  it('issues an access token from the family stored, not from the token presented', async () => {
    const stored = family({ fid: FID, sid: 'sid-stored', scope: 'read', authTime: NOW_S - 99 });
    const { deps } = setup({ rotateResult: { outcome: 'rotated', family: stored, tokenKey: KEY } });
    const { response, family: returned } = await refresh(PRESENTED.token, deps);
    expect(jwtPayload(response.access_token)).toMatchObject({ sub: SUB, sid: 'sid-stored', scope: 'read', auth_time: NOW_S - 99, exp: NOW_S + 900 });
    expect(returned).toBe(stored);
  });

  it('keeps the authentication methods of the login (amr) in refreshed tokens; a family stored without them was a password login', async () => {
    const passkey = family({ fid: FID, amr: ['hwk', 'user', 'mfa'] });
    const first = setup({ rotateResult: { outcome: 'rotated', family: passkey, tokenKey: KEY } });
    expect(jwtPayload((await refresh(PRESENTED.token, first.deps)).response.access_token)['amr']).toEqual(['hwk', 'user', 'mfa']);
    const older = setup({ rotateResult: { outcome: 'rotated', family: family({ fid: FID }), tokenKey: KEY } });
    expect(jwtPayload((await refresh(PRESENTED.token, older.deps)).response.access_token)['amr']).toEqual(['pwd']);
  });
});

describe('refresh: tags and the grace period', () => {
  it('undoes the rotation and rejects a token whose body is current but whose tag is not the family key\'s, signing nothing', async () => {
    const { deps, sessions, calls } = setup({ rotateResult: { outcome: 'rotated', family: FAMILY, tokenKey: new Uint8Array(32).fill(1) } });
    expect(await failure(refresh(PRESENTED.token, deps))).toBeInstanceOf(InvalidGrantError);
    expect(sessions.undone).toHaveLength(1);
    expect(calls).toEqual(['rotate', 'undoRotation']);
  });

  it('hands out the successor already issued within the grace period: one Sign, no undo, no revocation', async () => {
    const secret = new Uint8Array(32).fill(0x31);
    const stored = family({ fid: FID, generation: 1 });
    const { deps, sessions, calls, onReuse } = setup({ rotateResult: { outcome: 'resent', family: stored, tokenKey: KEY, successorSecret: secret } });
    const { response } = await refresh(PRESENTED.token, deps);
    expect(response.refresh_token).toBe(tagToken(tokenBody(SUB, FID, 1, secret), KEY));
    expect(calls).toEqual(['rotate', 'sign']);
    expect(sessions.undone).toEqual([]);
    expect(onReuse).not.toHaveBeenCalled();
  });

  it('answers 503 when signing fails within the grace period, and undoes nothing (it rotated nothing)', async () => {
    const { deps, sessions } = setup({
      rotateResult: { outcome: 'resent', family: family({ fid: FID, generation: 1 }), tokenKey: KEY, successorSecret: new Uint8Array(32) },
      signError: new Error('KMS down'),
    });
    expect(await failure(refresh(PRESENTED.token, deps))).toBeInstanceOf(DependencyUnavailableError);
    expect(sessions.undone).toEqual([]);
  });
});

describe('refresh: signing fails after the rotation', () => {
  it('undoes exactly the rotation it made', async () => {
    const { deps, sessions } = setup({ signError: new Error('KMS throttled') });
    await failure(refresh(PRESENTED.token, deps));
    expect(sessions.undone).toHaveLength(1);
    expect(sessions.undone[0]).toBe(sessions.rotations[0]);
  });

  it('answers DependencyUnavailableError (503, temporarily_unavailable) with the KMS error as cause', async () => {
    const kms = new Error('KMS throttled');
    const { deps } = setup({ signError: kms });
    const error = await failure(refresh(PRESENTED.token, deps));
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect((error as DependencyUnavailableError).status).toBe(503);
    expect((error as DependencyUnavailableError).code).toBe('temporarily_unavailable');
    expect((error as DependencyUnavailableError).cause).toBe(kms);
  });

  it('undoes the rotation before answering', async () => {
    const { deps, calls } = setup({ signError: new Error('KMS down') });
    await failure(refresh(PRESENTED.token, deps));
    expect(calls).toEqual(['rotate', 'sign', 'undoRotation']);
  });

  it('passes an AuthError from the signer through unchanged, still undoing the rotation', async () => {
    const authError = new InvalidRequestError('signing input too large');
    const { deps, sessions } = setup({ signError: authError });
    expect(await failure(refresh(PRESENTED.token, deps))).toBe(authError);
    expect(sessions.undone).toHaveLength(1);
  });
});

describe('refresh: reuse', () => {
  const reused: RotationResult = { outcome: 'reused', family: family({ fid: FID, sid: 'sid-reused' }) };

  it('revokes the family under the family policy, then reports reuse, then rejects with InvalidGrantError', async () => {
    const { deps, calls, sessions, reuses } = setup({ rotateResult: reused, reusePolicy: 'family' });
    const error = await failure(refresh(PRESENTED.token, deps));
    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(calls).toEqual(['rotate', 'revokeFamily', 'onReuse']);
    expect(sessions.revokedFamilies.map(({ sub, fid }) => ({ sub, fid }))).toEqual([{ sub: SUB, fid: FID }]);
    expect(sessions.revokedUsers).toEqual([]);
    expect(reuses).toEqual([{ sub: SUB, sid: 'sid-reused', revokedSessions: 1 }]);
  });

  it('counts zero revoked sessions when the family was already inactive', async () => {
    const { deps, reuses } = setup({ rotateResult: reused, reusePolicy: 'family', revokeFamilyResult: false });
    await failure(refresh(PRESENTED.token, deps));
    expect(reuses).toEqual([{ sub: SUB, sid: 'sid-reused', revokedSessions: 0 }]);
  });

  it('revokes every family of the user under the user policy and reports how many', async () => {
    const { deps, calls, sessions, reuses } = setup({ rotateResult: reused, reusePolicy: 'user', revokeAllResult: 4 });
    const error = await failure(refresh(PRESENTED.token, deps));
    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(calls).toEqual(['rotate', 'revokeAllFamilies', 'onReuse']);
    expect(sessions.revokedUsers.map(({ sub }) => sub)).toEqual([SUB]);
    expect(reuses).toEqual([{ sub: SUB, sid: 'sid-reused', revokedSessions: 4 }]);
  });

  it('revokes with reason "reuse", denying access tokens for the access TTL plus clock skew', async () => {
    const { deps, sessions } = setup({ rotateResult: reused });
    await failure(refresh(PRESENTED.token, deps));
    expect(sessions.revokedFamilies[0]?.revocation).toEqual({
      reason: 'reuse',
      nowMs: NOW_MS,
      nowSeconds: NOW_S,
      denyUntil: NOW_S + 900 + 60,
      userDenyUntil: NOW_S + 900 + 60 + 30 * 86_400,
    });
  });

  it('issues no token on reuse', async () => {
    const { deps, signer } = setup({ rotateResult: reused });
    await failure(refresh(PRESENTED.token, deps));
    expect(signer.inputs).toEqual([]);
  });
});

describe('refresh: unknown and inactive families', () => {
  for (const outcome of ['unknown', 'inactive'] as const) {
    it(`rejects an ${outcome} family with InvalidGrantError, revoking nothing and signing nothing`, async () => {
      const { deps, calls, onReuse } = setup({ rotateResult: { outcome } });
      const error = await failure(refresh(PRESENTED.token, deps));
      expect(error).toBeInstanceOf(InvalidGrantError);
      expect(calls).toEqual(['rotate']);
      expect(onReuse).not.toHaveBeenCalled();
    });
  }

  it('gives the same description for unknown, inactive, reused and malformed tokens', async () => {
    const descriptions = new Set<string>();
    for (const [token, rotateResult] of [
      [PRESENTED.token, { outcome: 'unknown' }],
      [PRESENTED.token, { outcome: 'inactive' }],
      [PRESENTED.token, { outcome: 'reused', family: FAMILY }],
      ['garbage', { outcome: 'unknown' }],
    ] as const) {
      const error = (await failure(refresh(token, setup({ rotateResult }).deps))) as InvalidGrantError;
      descriptions.add(error.description);
    }
    expect([...descriptions]).toEqual(['The refresh token is invalid, expired or revoked.']);
  });
});
