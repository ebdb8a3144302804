import { describe, expect, it } from 'vitest';
import {
  MAX_REVOKED_ENTRIES,
  NO_REVOCATIONS,
  latestUntil,
  revocationReason,
  withRevocation,
  type RevocationState,
} from '../../../lambdas/core/denylist-policy.ts';

const NOW = 1_700_000_000;
const TOKEN = { jti: '3f1e7c2a-8b4d-4e7a-9c1b-2d3e4f5a6b7c', sid: 'sid-aaaaaaaaaaaaaaaaaa', auth_time: NOW - 600, iat: NOW - 60 };
const logout = (atSeconds: number, until = NOW + 3600) => ({ kind: 'user', atSeconds, atMs: atSeconds * 1000 + 500, until, reason: 'logout_all' }) as const;

describe('revocation decision', () => {
  it('lets a token through when nothing is revoked', () => {
    expect(revocationReason(TOKEN, NO_REVOCATIONS, NOW)).toBeUndefined();
  });

  it('denies a revoked token until its until, and not after', () => {
    const state = withRevocation(NO_REVOCATIONS, { kind: 'token', jti: TOKEN.jti, until: NOW + 10 }, NOW);
    expect(revocationReason(TOKEN, state, NOW + 9)).toBe('token revoked');
    expect(revocationReason(TOKEN, state, NOW + 10)).toBeUndefined();
    expect(revocationReason({ ...TOKEN, jti: 'other' }, state, NOW)).toBeUndefined();
  });

  it('denies every token of a revoked session, and not those of other sessions', () => {
    const state = withRevocation(NO_REVOCATIONS, { kind: 'session', sid: TOKEN.sid, until: NOW + 10 }, NOW);
    expect(revocationReason(TOKEN, state, NOW)).toBe('session revoked');
    expect(revocationReason({ ...TOKEN, sid: 'other' }, state, NOW)).toBeUndefined();
    expect(revocationReason(TOKEN, state, NOW + 10)).toBeUndefined();
  });

  it('denies tokens whose auth_time is at or before a logout everywhere, and not later sessions', () => {
    const state = withRevocation(NO_REVOCATIONS, logout(NOW - 600), NOW);
    expect(revocationReason(TOKEN, state, NOW)).toBe('user logged out everywhere');
    expect(revocationReason({ ...TOKEN, auth_time: NOW - 599 }, state, NOW)).toBeUndefined();
  });

  it('ignores a logout everywhere whose until has passed', () => {
    const state = withRevocation(NO_REVOCATIONS, logout(NOW - 600, NOW + 5), NOW);
    expect(revocationReason(TOKEN, state, NOW + 5)).toBeUndefined();
  });

  it('denies a garbled (unreadable) item, whatever the token', () => {
    expect(revocationReason(TOKEN, 'unreadable', NOW)).toBe('revocation state unreadable');
  });
});

describe('revocation writes', () => {
  it('never moves a logout everywhere backwards when an earlier logout lands last', () => {
    const later = withRevocation(NO_REVOCATIONS, logout(NOW - 10), NOW);
    const state = withRevocation(later, logout(NOW - 20, NOW + 99_999), NOW);
    expect(state.logout).toMatchObject({ atSeconds: NOW - 10, until: NOW + 99_999 });
  });

  it('keeps other revocations when a logout everywhere is written', () => {
    const withSession = withRevocation(NO_REVOCATIONS, { kind: 'session', sid: 's1', until: NOW + 900 }, NOW);
    expect(withRevocation(withSession, logout(NOW), NOW).sessions.get('s1')).toBe(NOW + 900);
  });

  it('prunes expired entries at the next write', () => {
    let state: RevocationState = withRevocation(NO_REVOCATIONS, { kind: 'session', sid: 's1', until: NOW + 5 }, NOW);
    state = withRevocation(state, { kind: 'token', jti: 'j1', until: NOW + 5 }, NOW);
    state = withRevocation(state, { kind: 'session', sid: 's2', until: NOW + 900 }, NOW + 5);
    expect([...state.sessions.keys()]).toEqual(['s2']);
    expect(state.tokens.size).toBe(0);
  });

  it('never shortens an entry written again with an earlier until', () => {
    const state = withRevocation(withRevocation(NO_REVOCATIONS, { kind: 'session', sid: 's1', until: NOW + 900 }, NOW), { kind: 'session', sid: 's1', until: NOW + 5 }, NOW);
    expect(state.sessions.get('s1')).toBe(NOW + 900);
  });

  it('at the cap, folds every earlier entry into a cutoff that still denies their tokens, and keeps the new entry', () => {
    let state: RevocationState = NO_REVOCATIONS;
    for (let i = 0; i < MAX_REVOKED_ENTRIES; i++) {
      state = withRevocation(state, i % 2 === 0 ? { kind: 'session', sid: `s${i}`, until: NOW + 900 + i } : { kind: 'token', jti: `j${i}`, until: NOW + 900 + i }, NOW - 30);
    }
    expect(state.sessions.size + state.tokens.size).toBe(MAX_REVOKED_ENTRIES);
    expect(state.cutoff).toBeUndefined();
    const overflow = withRevocation(state, { kind: 'session', sid: 'new', until: NOW + 900 }, NOW);
    expect([...overflow.sessions.keys()]).toEqual(['new']);
    expect(overflow.tokens.size).toBe(0);
    expect(overflow.cutoff).toEqual({ iatSeconds: NOW, until: NOW + 900 + MAX_REVOKED_ENTRIES - 1 });
    // A token of a folded session, issued before the fallback: still denied.
    expect(revocationReason({ ...TOKEN, sid: 's0', iat: NOW - 100 }, overflow, NOW + 1)).toBe('issued before a revocation of all earlier tokens');
    expect(revocationReason({ ...TOKEN, jti: 'j1', iat: NOW }, overflow, NOW + 1)).toBe('issued before a revocation of all earlier tokens');
    // Self-healing: a session that was not revoked refreshes in a later second and is accepted.
    expect(revocationReason({ ...TOKEN, sid: 'alive', iat: NOW + 1 }, overflow, NOW + 1)).toBeUndefined();
    // And once the last folded entry would have expired, the cutoff is gone.
    expect(revocationReason({ ...TOKEN, sid: 'alive', iat: NOW - 100 }, overflow, NOW + 900 + MAX_REVOKED_ENTRIES)).toBeUndefined();
    expect(latestUntil(overflow)).toBe(NOW + 900 + MAX_REVOKED_ENTRIES - 1);
  });

  it('never lowers an earlier cutoff', () => {
    const first = { ...NO_REVOCATIONS, cutoff: { iatSeconds: NOW + 50, until: NOW + 5000 } };
    const state = withRevocation(first, { kind: 'token', jti: 'x'.repeat(100), until: NOW + 900 }, NOW);
    expect(state.cutoff).toEqual({ iatSeconds: NOW + 50, until: NOW + 5000 });
  });

  it('sends an id longer than ours straight to the cutoff instead of growing the item', () => {
    const state = withRevocation(NO_REVOCATIONS, { kind: 'token', jti: 'x'.repeat(100), until: NOW + 900 }, NOW);
    expect(state.tokens.size).toBe(0);
    expect(state.cutoff).toEqual({ iatSeconds: NOW, until: NOW + 900 });
  });
});
