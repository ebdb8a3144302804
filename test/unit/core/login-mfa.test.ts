/** The password step of a login for an account with a TOTP factor (core/login.ts, core/mfa-login.ts). */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidGrantError, MfaRequiredError } from '../../../lambdas/core/errors.ts';
import { login, type LoginDeps, type LoginRequest } from '../../../lambdas/core/login.ts';
import { MFA_CHALLENGE_TTL_SECONDS } from '../../../lambdas/core/mfa-login.ts';
import type { MfaChallenge } from '../../../lambdas/core/ports.ts';
import { activeUser, CONFIG, countingRandom, fakePasswords, fakeSessions, fakeSigner, fakeThrottle, fakeUsers, fixedClock, NOW_S, SUB, type CallLog } from './fakes.ts';

const REQUEST: LoginRequest = { username: 'alice', password: 'correct horse', sourceIp: '203.0.113.7', scope: ['read'], delivery: 'cookie' };

function setup() {
  const calls: CallLog = [];
  const challenges: MfaChallenge[] = [];
  const throttle = fakeThrottle(calls);
  const deps: LoginDeps = {
    config: CONFIG,
    signer: fakeSigner(calls),
    sessions: fakeSessions(calls),
    users: fakeUsers(calls, [activeUser({ scopes: ['read', 'write'] })]),
    passwords: fakePasswords(calls),
    throttle,
    clock: fixedClock(),
    random: countingRandom(),
    secondFactors: {
      findTotp: (sub) => {
        calls.push('findTotp');
        return Promise.resolve({ sub, factorId: 'factor-1', sealedSecret: new Uint8Array([1]), lastStep: 0 });
      },
      createChallenge: (challenge) => {
        calls.push('createChallenge');
        challenges.push(challenge);
        return Promise.resolve();
      },
    },
  };
  return { calls, challenges, throttle, deps };
}

describe('login for an account with TOTP', () => {
  it('answers MfaRequiredError (401 mfa_required) with a 256-bit token, stores only its hash, and issues nothing', async () => {
    const { calls, challenges, deps } = setup();
    const error = await login(REQUEST, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MfaRequiredError);
    const { mfaToken, status, code } = error as MfaRequiredError;
    expect([status, code]).toEqual([401, 'mfa_required']);
    expect(mfaToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(challenges).toHaveLength(1);
    expect(challenges[0]).toEqual({
      tokenHash: createHash('sha256').update(mfaToken).digest('base64url'),
      sub: SUB,
      username: 'alice',
      scope: 'read',
      clientId: CONFIG.clientId,
      delivery: 'cookie',
      deviceHash: undefined,
      factorId: 'factor-1',
      failures: 0,
      expiresAt: NOW_S + MFA_CHALLENGE_TTL_SECONDS,
    });
    expect(JSON.stringify(challenges)).not.toContain(mfaToken);
    // Not taken back, no device renewed, nothing signed, no session.
    expect(calls).not.toContain('passed');
    expect(calls).not.toContain('sign');
    expect(calls).not.toContain('createFamily');
  });

  it('a wrong password is the plain invalid_grant: no challenge, and the factor is not even read', async () => {
    const { calls, challenges, deps } = setup();
    const error = await login({ ...REQUEST, password: 'wrong' }, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidGrantError);
    expect(challenges).toEqual([]);
    expect(calls).not.toContain('findTotp');
  });
});
