/**
 * The order of the account changes, with fakes that log every call: what a refused request
 * never reaches (no hash, no counted attempt, no revocation, no erasure), and the erasure order
 * that keeps a half-deleted account unusable (`core/account-deletion.ts`). The behaviour over
 * HTTP and DynamoDB Local is in test/e2e/account-password.test.ts and account-delete.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { ReauthenticationThrottle } from '../../../lambdas/core/login-throttle.ts';
import { changePassword, RETRY_WINDOW_SECONDS } from '../../../lambdas/core/password-change.ts';
import { deleteOwnAccount } from '../../../lambdas/core/own-account-deletion.ts';
import type { AccountEraser, ThrottleCounters } from '../../../lambdas/core/ports.ts';
import { activeUser, CONFIG, CURRENT_HASH, family, fakePasswords, fakeSessions, fakeUsers, fixedClock, NOW_S, SUB, type CallLog } from './fakes.ts';

const CALLER = { sub: SUB, sid: 'mine' };

function fakeThrottle(calls: CallLog): ReauthenticationThrottle {
  return {
    admitReauthentication: () => {
      calls.push('admit');
      return Promise.resolve();
    },
    passedReauthentication: () => {
      calls.push('passed');
      return Promise.resolve();
    },
  };
}

function fakeEraser(calls: CallLog): AccountEraser {
  return {
    markDeletion: () => (calls.push('markDeletion'), Promise.resolve(true)),
    erasePartition: (_sub, part) => (calls.push(`erase ${part}`), Promise.resolve(1)),
    deleteUser: () => (calls.push('deleteUser'), Promise.resolve()),
  };
}

function deps(calls: CallLog, options: { replaceOk?: boolean; secondFactor?: boolean; passwordChangedAt?: number; password?: string } = {}) {
  const sessions = fakeSessions(calls);
  const user = activeUser(options.passwordChangedAt === undefined ? {} : { passwordChangedAt: options.passwordChangedAt });
  const users = fakeUsers(calls, [user]);
  const counters: Pick<ThrottleCounters, 'clear'> = { clear: (_key, kind) => (calls.push(`clear ${kind}`), Promise.resolve()) };
  return {
    users: { ...users, replacePasswordHash: (...args: Parameters<typeof users.replacePasswordHash>) => users.replacePasswordHash(...args).then(() => options.replaceOk ?? true) },
    sessions: {
      ...sessions,
      listFamilies: () => (calls.push('listFamilies'), Promise.resolve([family({ sid: 'mine' }), family({ sid: 'other', fid: 'BBBBBBBBBBBBBBBBBBBBBB' })])),
    },
    passwords: fakePasswords(calls, { password: options.password ?? 'correct horse' }),
    throttle: fakeThrottle(calls),
    throttleCounters: counters,
    secondFactors: { hasSecondFactor: () => (calls.push('hasSecondFactor'), Promise.resolve(options.secondFactor ?? false)) },
    eraser: fakeEraser(calls),
    clock: fixedClock(),
    config: CONFIG,
    serviceName: 'kms-jwt-auth',
  };
}

const NEW = 'a long new passphrase here';

describe('changePassword', () => {
  it('refuses a weak new password before any password is checked or attempt counted', async () => {
    const calls: CallLog = [];
    await expect(changePassword(CALLER, { currentPassword: 'correct horse', newPassword: 'short', sourceIp: '1.2.3.4' }, deps(calls))).rejects.toMatchObject({
      code: 'invalid_request',
      rule: 'too_short',
    });
    expect(calls).not.toContain('admit');
    expect(calls).not.toContain('verify');
    expect(calls).not.toContain('hash');
  });

  it('with a second factor, 8 characters suffice (NIST SP 800-63B-4 §3.1.1.2)', async () => {
    const calls: CallLog = [];
    await expect(changePassword(CALLER, { currentPassword: 'correct horse', newPassword: 'x7#Qp2!m', sourceIp: '1.2.3.4' }, deps(calls, { secondFactor: true }))).resolves.toMatchObject({
      sessionsEnded: 1,
    });
  });

  it('a wrong current password costs one counted attempt, and nothing is written', async () => {
    const calls: CallLog = [];
    await expect(changePassword(CALLER, { currentPassword: 'wrong', newPassword: NEW, sourceIp: '1.2.3.4' }, deps(calls))).rejects.toMatchObject({
      code: 'invalid_grant',
      status: 400,
    });
    expect(calls.filter((call) => call === 'admit')).toHaveLength(1);
    expect(calls).not.toContain('replacePasswordHash');
    expect(calls).not.toContain('endSession');
  });

  it('ends the other sessions only, after the hash is replaced', async () => {
    const calls: CallLog = [];
    const d = deps(calls);
    await expect(changePassword(CALLER, { currentPassword: 'correct horse', newPassword: NEW, sourceIp: '1.2.3.4' }, d)).resolves.toEqual({ sub: SUB, sid: 'mine', sessionsEnded: 1 });
    expect(calls.indexOf('replacePasswordHash')).toBeLessThan(calls.indexOf('endSession'));
    expect(d.sessions.revokedFamilies.map((revoked) => revoked.fid)).toEqual(['BBBBBBBBBBBBBBBBBBBBBB']);
    expect(d.sessions.revokedFamilies[0]?.revocation.reason).toBe('password_changed');
  });

  it('losing the race for the hash is a 409 that ends no session', async () => {
    const calls: CallLog = [];
    await expect(changePassword(CALLER, { currentPassword: 'correct horse', newPassword: NEW, sourceIp: '1.2.3.4' }, deps(calls, { replaceOk: false }))).rejects.toMatchObject({
      code: 'conflict',
      status: 409,
    });
    expect(calls).not.toContain('endSession');
  });

  it('recognises the retry of a change just made (new password already stored): ends the sessions, writes no hash, counts two attempts', async () => {
    const calls: CallLog = [];
    const d = deps(calls, { passwordChangedAt: NOW_S - 10, password: NEW });
    await expect(changePassword(CALLER, { currentPassword: 'the old one', newPassword: NEW, sourceIp: '1.2.3.4' }, d)).resolves.toMatchObject({ sessionsEnded: 1 });
    expect(calls).not.toContain('replacePasswordHash');
    expect(calls.filter((call) => call === 'admit')).toHaveLength(2);
  });

  it('outside the retry window the new password is never tried as the stored one', async () => {
    const calls: CallLog = [];
    const d = deps(calls, { passwordChangedAt: NOW_S - RETRY_WINDOW_SECONDS - 1, password: NEW });
    await expect(changePassword(CALLER, { currentPassword: 'the old one', newPassword: NEW, sourceIp: '1.2.3.4' }, d)).rejects.toMatchObject({ code: 'invalid_grant' });
    expect(calls.filter((call) => call === 'verify')).toHaveLength(1);
    expect(d.passwords.verified).toEqual([CURRENT_HASH]);
  });
});

describe('deleteOwnAccount', () => {
  const request = { password: 'correct horse', sourceIp: '1.2.3.4' };

  it('erases in the order that keeps a half-deleted account unusable: mark, credentials, counters, logout everywhere, sessions, user', async () => {
    const calls: CallLog = [];
    await deleteOwnAccount({ ...CALLER, amr: ['pwd'] }, request, deps(calls));
    const steps = calls.filter((call) => ['markDeletion', 'erase credentials', 'clear user', 'clear user_ip', 'revokeAllFamilies', 'erase sessions', 'deleteUser'].includes(call));
    expect(steps).toEqual(['markDeletion', 'erase credentials', 'clear user', 'clear user_ip', 'revokeAllFamilies', 'erase sessions', 'deleteUser']);
  });

  it('a wrong password erases nothing', async () => {
    const calls: CallLog = [];
    await expect(deleteOwnAccount({ ...CALLER, amr: ['pwd'] }, { ...request, password: 'wrong' }, deps(calls))).rejects.toMatchObject({ code: 'invalid_grant' });
    expect(calls).not.toContain('markDeletion');
  });

  it('an account with a second factor and a token without mfa: 403 insufficient_user_authentication, nothing erased', async () => {
    const calls: CallLog = [];
    await expect(deleteOwnAccount({ ...CALLER, amr: ['pwd', 'otp'] }, request, deps(calls, { secondFactor: true }))).rejects.toMatchObject({
      code: 'insufficient_user_authentication',
      status: 403,
    });
    expect(calls).not.toContain('markDeletion');
    await expect(deleteOwnAccount({ ...CALLER, amr: ['pwd', 'otp', 'mfa'] }, request, deps([], { secondFactor: true }))).resolves.toMatchObject({ sub: SUB });
  });
});
