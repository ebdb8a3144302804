import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryableConflictError } from '../../../lambdas/core/errors.ts';
import {
  classifyPresentedToken,
  isFamilyActive,
  refusedRotation,
  type Presentation,
  type StoredFamily,
} from '../../../lambdas/core/refresh-classification.ts';

const NOW = 1_800_000_000;
const CURRENT = 'hash-of-current';
const PREVIOUS = 'hash-of-previous';
const NEXT = 'hash-of-successor-minted-by-this-request';
const OLDER = 'hash-of-an-older-token';

function stored(overrides: Partial<StoredFamily> = {}): StoredFamily {
  return {
    sub: '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9',
    fid: 'secret-family-id',
    sid: 'public-session-id',
    username: 'alice',
    scope: 'read',
    clientId: 'app',
    authTime: NOW - 3_600,
    expiresAt: NOW + 600,
    absoluteExpiresAt: NOW + 86_400,
    generation: 3,
    currentHash: CURRENT,
    prevHash: PREVIOUS,
    supersededAt: NOW - 60,
    revokedAt: undefined,
    ...overrides,
  };
}

const presenting = (presentedHash: string, nowSeconds = NOW): Presentation => ({ presentedHash, nextHash: NEXT, nowSeconds });

describe('classifyPresentedToken', () => {
  it('calls a token without a family unknown', () => {
    expect(classifyPresentedToken(undefined, presenting(CURRENT))).toBe('unknown');
  });

  it('calls the current token of a live family current', () => {
    expect(classifyPresentedToken(stored(), presenting(CURRENT))).toBe('current');
  });

  it('calls the token the last rotation superseded reuse', () => {
    expect(classifyPresentedToken(stored(), presenting(PREVIOUS))).toBe('reuse');
  });

  it('calls a token superseded longer ago (neither current nor previous) reuse', () => {
    expect(classifyPresentedToken(stored(), presenting(OLDER))).toBe('reuse');
  });

  it('calls the previous token reuse however recently it was superseded (no grace period)', () => {
    expect(classifyPresentedToken(stored({ supersededAt: NOW }), presenting(PREVIOUS))).toBe('reuse');
  });

  it('calls a repeat of our own rotation, already applied, own_retry and not reuse', () => {
    // The write went through (current = the successor this request minted); its answer was lost.
    expect(classifyPresentedToken(stored({ currentHash: NEXT }), presenting(PREVIOUS))).toBe('own_retry');
  });

  it('calls any other token of a family never rotated (generation 0, no previous token) reuse', () => {
    const fresh = stored({ generation: 0, prevHash: undefined, supersededAt: undefined });
    expect(classifyPresentedToken(fresh, presenting(CURRENT))).toBe('current');
    expect(classifyPresentedToken(fresh, presenting(OLDER))).toBe('reuse');
  });

  it('calls the token an undone rotation put back current again, and its would-be successor nothing of ours', () => {
    // After an undo: the presented token is current again, prevHash is gone, generation went back.
    const undone = stored({ generation: 2, prevHash: undefined });
    expect(classifyPresentedToken(undone, presenting(CURRENT))).toBe('current');
    expect(classifyPresentedToken(undone, { presentedHash: NEXT, nextHash: 'another-successor', nowSeconds: NOW })).toBe('reuse');
  });

  it('does not read the generation: a family at a high generation classifies the same', () => {
    const old = stored({ generation: Number.MAX_SAFE_INTEGER });
    expect(classifyPresentedToken(old, presenting(CURRENT))).toBe('current');
    expect(classifyPresentedToken(old, presenting(PREVIOUS))).toBe('reuse');
  });

  describe('an inactive family answers inactive for every token, before any other class', () => {
    const inactive: readonly [string, StoredFamily][] = [
      ['revoked', stored({ revokedAt: NOW - 1 })],
      ['revoked this very second', stored({ revokedAt: NOW })],
      ['past its sliding expiry', stored({ expiresAt: NOW - 1 })],
      ['at its sliding expiry (expiry is exclusive)', stored({ expiresAt: NOW })],
      ['past its absolute lifetime', stored({ absoluteExpiresAt: NOW - 1 })],
      ['at its absolute lifetime', stored({ absoluteExpiresAt: NOW, expiresAt: NOW + 600 })],
    ];
    for (const [name, family] of inactive) {
      it(`${name}: current, previous, older and own-retry tokens are all inactive`, () => {
        expect(classifyPresentedToken(family, presenting(CURRENT))).toBe('inactive');
        expect(classifyPresentedToken(family, presenting(PREVIOUS))).toBe('inactive');
        expect(classifyPresentedToken(family, presenting(OLDER))).toBe('inactive');
        expect(classifyPresentedToken({ ...family, currentHash: NEXT }, presenting(PREVIOUS))).toBe('inactive');
      });
    }
  });

  it('is active one second before either expiry', () => {
    expect(isFamilyActive(stored({ expiresAt: NOW + 1, absoluteExpiresAt: NOW + 1 }), NOW)).toBe(true);
    expect(classifyPresentedToken(stored({ expiresAt: NOW + 1, absoluteExpiresAt: NOW + 1 }), presenting(CURRENT))).toBe('current');
  });

  it('agrees with the store\'s rotation condition: current exactly when the conditional write would pass', () => {
    const hash = fc.constantFrom(CURRENT, PREVIOUS, NEXT, OLDER);
    const seconds = fc.integer({ min: NOW - 3, max: NOW + 3 });
    fc.assert(
      fc.property(hash, hash, seconds, seconds, fc.option(seconds, { nil: undefined }), (currentHash, presentedHash, expiresAt, absoluteExpiresAt, revokedAt) => {
        const family = stored({ currentHash, expiresAt, absoluteExpiresAt, revokedAt });
        // `currentHash = :presented AND attribute_not_exists(revokedAt) AND expiresAt > :now AND absoluteExpiresAt > :now`
        const conditionPasses = currentHash === presentedHash && revokedAt === undefined && expiresAt > NOW && absoluteExpiresAt > NOW;
        expect(classifyPresentedToken(family, presenting(presentedHash)) === 'current').toBe(conditionPasses);
      }),
    );
  });
});

describe('refusedRotation (the rotation\'s condition failed; the store read the family back)', () => {
  it('answers unknown when there is no family', () => {
    expect(refusedRotation(undefined, presenting(CURRENT))).toEqual({ outcome: 'unknown' });
  });

  it('answers inactive for a revoked or expired family', () => {
    expect(refusedRotation(stored({ revokedAt: NOW - 5 }), presenting(PREVIOUS))).toEqual({ outcome: 'inactive' });
    expect(refusedRotation(stored({ expiresAt: NOW - 5 }), presenting(CURRENT))).toEqual({ outcome: 'inactive' });
  });

  it('answers reused with the family to revoke, and hands on no hash', () => {
    const result = refusedRotation(stored(), presenting(PREVIOUS));
    expect(result).toEqual({
      outcome: 'reused',
      family: expect.objectContaining({ sub: stored().sub, fid: 'secret-family-id', sid: 'public-session-id', generation: 3 }),
    });
    expect(JSON.stringify(result)).not.toContain('hash-of');
  });

  it('answers rotated, with the family as our own write left it, for a repeat of our own rotation', () => {
    const result = refusedRotation(stored({ currentHash: NEXT, generation: 4 }), presenting(PREVIOUS));
    expect(result).toEqual({ outcome: 'rotated', family: expect.objectContaining({ generation: 4, sid: 'public-session-id' }) });
    expect(JSON.stringify(result)).not.toContain('hash-of');
  });

  it('asks for a retry, not a logout, if a refused write ever reads back as current', () => {
    expect(() => refusedRotation(stored(), presenting(CURRENT))).toThrow(RetryableConflictError);
  });
});
