import { describe, expect, it, vi } from 'vitest';
import { mintRefreshToken, newFamilyId } from '../../../lambdas/core/refresh-token.ts';
import { revokeAllSessions, revokeToken, type RevocationDeps } from '../../../lambdas/core/revocation.ts';
import type { AccessTokenClaims } from '../../../lambdas/core/token-model.ts';
import { CONFIG, fakeDenylist, fakeSessions, fixedClock, NOW_MS, NOW_S, SUB, type CallLog } from './fakes.ts';

const FID = newFamilyId(() => new Uint8Array(16).fill(0x42));
const TOKEN_KEY = new Uint8Array(32).fill(0x5a);
const REFRESH = mintRefreshToken(SUB, FID, 0, TOKEN_KEY, (n) => new Uint8Array(n).fill(0x99));
const ACCESS_TOKEN = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
const CLAIMS: AccessTokenClaims = {
  iss: CONFIG.issuer,
  sub: SUB,
  aud: CONFIG.audience,
  exp: NOW_S + 600,
  iat: NOW_S - 300,
  jti: 'jti-1',
  client_id: 'kms-jwt-auth',
  scope: 'read',
  sid: 'sid-1',
  auth_time: NOW_S - 300,
};

function setup(options: { claims?: AccessTokenClaims; familyActive?: boolean; familyTokenKey?: Uint8Array | undefined } = {}) {
  const calls: CallLog = [];
  const sessions = fakeSessions(calls, {
    revokeFamilyResult: options.familyActive ?? true,
    familyTokenKey: 'familyTokenKey' in options ? options.familyTokenKey : TOKEN_KEY,
  });
  const denylist = fakeDenylist(calls);
  const verifyAccessToken = vi.fn((_token: string, _now: number) => {
    calls.push('verifyAccessToken');
    return Promise.resolve(options.claims);
  });
  const deps: RevocationDeps = { config: CONFIG, sessions, clock: fixedClock(), denylist, verifyAccessToken };
  return { calls, sessions, denylist, verifyAccessToken, deps };
}

describe('revokeToken with a refresh token', () => {
  it('revokes the family the token names, with reason "logout"', async () => {
    const { deps, sessions } = setup();
    expect(await revokeToken(REFRESH.token, deps)).toBe('session_revoked');
    expect(sessions.revokedFamilies).toHaveLength(1);
    expect(sessions.revokedFamilies[0]).toMatchObject({
      sub: SUB,
      fid: FID,
      revocation: { reason: 'logout', nowSeconds: NOW_S, denyUntil: NOW_S + 900 + 60 },
    });
  });

  it('revokes the family whichever of its tokens is presented: no onlyIfHash condition (a logout racing a refresh still logs out)', async () => {
    const { deps, sessions } = setup();
    await revokeToken(REFRESH.token, deps);
    expect(sessions.revokedFamilies[0]?.onlyIfHash).toBeUndefined();
  });

  it('never tries the token as an access token nor writes a token denial', async () => {
    const { deps, calls } = setup({ claims: CLAIMS });
    await revokeToken(REFRESH.token, deps);
    expect(calls).toEqual(['familyTokenKey', 'revokeFamily']);
  });

  it.each([
    ['one character of its random part changed', (t: string) => `${t.slice(0, 70)}${t[70] === 'A' ? 'B' : 'A'}${t.slice(71)}`],
    ['one character of its tag changed', (t: string) => `${t.slice(0, -2)}${t.at(-2) === 'A' ? 'B' : 'A'}${t.slice(-1)}`],
  ])('changes nothing for a token with %s: it is not a token the family issued', async (_name, tamper) => {
    const { deps, calls, sessions } = setup();
    expect(await revokeToken(tamper(REFRESH.token), deps)).toBe('nothing_to_revoke');
    expect(calls).toEqual(['familyTokenKey']);
    expect(sessions.revokedFamilies).toEqual([]);
  });

  it('changes nothing for a token whose family does not exist', async () => {
    const { deps, sessions } = setup({ familyTokenKey: undefined });
    expect(await revokeToken(REFRESH.token, deps)).toBe('nothing_to_revoke');
    expect(sessions.revokedFamilies).toEqual([]);
  });

  it('changes nothing for a well-formed token tagged under another family\'s key', async () => {
    const { deps, sessions } = setup({ familyTokenKey: new Uint8Array(32).fill(0x11) });
    expect(await revokeToken(REFRESH.token, deps)).toBe('nothing_to_revoke');
    expect(sessions.revokedFamilies).toEqual([]);
  });

  it('answers nothing_to_revoke when the family was already revoked or unknown', async () => {
    const { deps } = setup({ familyActive: false });
    expect(await revokeToken(REFRESH.token, deps)).toBe('nothing_to_revoke');
  });
});

describe('revokeToken with an access token', () => {
  it('denies the jti until exp plus the clock skew when the token verifies', async () => {
    const { deps, denylist } = setup({ claims: CLAIMS });
    expect(await revokeToken(ACCESS_TOKEN, deps)).toBe('access_token_revoked');
    expect(denylist.denied).toEqual([{ jti: 'jti-1', expiresAt: NOW_S + 600 + 60 }]);
  });

  it('verifies the token at the current second', async () => {
    const { deps, verifyAccessToken } = setup({ claims: CLAIMS });
    await revokeToken(ACCESS_TOKEN, deps);
    expect(verifyAccessToken).toHaveBeenCalledWith(ACCESS_TOKEN, NOW_S);
  });

  it('writes nothing when the token does not verify (forged, foreign or expired)', async () => {
    const { deps, calls } = setup();
    expect(await revokeToken(ACCESS_TOKEN, deps)).toBe('nothing_to_revoke');
    expect(calls).toEqual(['verifyAccessToken']);
  });

  it('never revokes a family on behalf of an access token', async () => {
    const { deps, sessions } = setup({ claims: CLAIMS });
    await revokeToken(ACCESS_TOKEN, deps);
    expect(sessions.revokedFamilies).toEqual([]);
    expect(sessions.revokedUsers).toEqual([]);
  });
});

describe('revokeToken with anything else', () => {
  for (const [name, token] of [
    ['the empty string', ''],
    ['random text', 'not a token'],
    ['a refresh token with padding', `${REFRESH.token}=`],
    ['a refresh token missing a character', REFRESH.token.slice(1)],
  ] as const) {
    it(`answers nothing_to_revoke for ${name} and writes nothing`, async () => {
      const { deps, sessions, denylist } = setup();
      expect(await revokeToken(token, deps)).toBe('nothing_to_revoke');
      expect(sessions.revokedFamilies).toEqual([]);
      expect(sessions.revokedUsers).toEqual([]);
      expect(denylist.denied).toEqual([]);
    });
  }
});

describe('revokeAllSessions', () => {
  it('revokes every family of the user with reason logout_all by default and returns the count', async () => {
    const { deps, sessions } = setup();
    expect(await revokeAllSessions(SUB, deps)).toBe(3);
    expect(sessions.revokedUsers).toEqual([
      { sub: SUB, revocation: { reason: 'logout_all', nowMs: NOW_MS, nowSeconds: NOW_S, denyUntil: NOW_S + 960, userDenyUntil: NOW_S + 960 + 30 * 86_400 } },
    ]);
  });

  it('records the reason it is given', async () => {
    const { deps, sessions } = setup();
    await revokeAllSessions(SUB, deps, 'user_disabled');
    expect(sessions.revokedUsers[0]?.revocation.reason).toBe('user_disabled');
  });
});
