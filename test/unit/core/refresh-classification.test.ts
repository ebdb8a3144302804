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
import { mintRefreshToken, mintUntagged, parseRefreshToken, sealSuccessor, tagToken } from '../../../lambdas/core/refresh-token.ts';

const NOW = 1_800_000_000;
const CURRENT = 'hash-of-current';
const PREVIOUS = 'hash-of-previous';
const NEXT = 'hash-of-successor-minted-by-this-request';
const OLDER = 'hash-of-an-older-token';

const SUB = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const FID = Buffer.alloc(16, 0x42).toString('base64url');
const KEY = new Uint8Array(32).fill(0x5a);

/** A real token of the family at `generation`, tagged with `key`, parsed (hashes below are symbolic). */
function tokenAt(generation: number, key: Uint8Array = KEY) {
  const parsed = parseRefreshToken(mintRefreshToken(SUB, FID, generation, key, (n) => new Uint8Array(n).fill(generation + 1)).token);
  if (parsed === undefined) throw new Error('unparsable');
  return parsed;
}

function stored(overrides: Partial<StoredFamily> = {}): StoredFamily {
  return {
    sub: SUB,
    fid: FID,
    sid: 'public-session-id',
    amr: ['pwd'],
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
    nextSealed: undefined,
    tokenKey: KEY,
    revokedAt: undefined,
    ...overrides,
  };
}

/** The generation each symbolic hash belongs to in a family at generation 3. */
const GENERATION_OF: Record<string, number> = { [CURRENT]: 3, [PREVIOUS]: 2, [NEXT]: 4, [OLDER]: 1 };

const presenting = (presentedHash: string, nowSeconds = NOW, graceSeconds = 30): Presentation => ({
  presented: tokenAt(GENERATION_OF[presentedHash] ?? 0),
  presentedHash,
  nextHash: NEXT,
  nowSeconds,
  graceSeconds,
});

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

  it('calls the previous token reuse after the grace period', () => {
    expect(classifyPresentedToken(stored({ supersededAt: NOW }), presenting(PREVIOUS))).toBe('reuse');
  });

  it('calls a repeat of our own rotation, already applied, own_retry and not reuse', () => {
    // The write went through (current = the successor this request minted); its answer was lost.
    expect(classifyPresentedToken(stored({ currentHash: NEXT, generation: 3 }), presenting(PREVIOUS))).toBe('own_retry');
  });

  it('calls a token of a generation the family never reached nothing of ours (a family never rotated, or an undone rotation)', () => {
    const fresh = stored({ generation: 0, prevHash: undefined, supersededAt: undefined });
    expect(classifyPresentedToken(fresh, presenting(OLDER))).toBe('unknown');
    const undone = stored({ generation: 3, currentHash: CURRENT, prevHash: undefined });
    expect(classifyPresentedToken(undone, { ...presenting(NEXT), nextHash: 'another-successor' })).toBe('unknown');
  });

  it('calls a token whose tag the family key did not make unknown, whatever its hash or generation', () => {
    const forged = tokenAt(2, new Uint8Array(32).fill(0x01));
    for (const hash of [CURRENT, PREVIOUS, OLDER]) {
      expect(classifyPresentedToken(stored(), { ...presenting(hash), presented: forged })).toBe('unknown');
      expect(classifyPresentedToken(stored({ revokedAt: NOW - 1 }), { ...presenting(hash), presented: forged })).toBe('unknown');
    }
  });

  it('calls a token superseded two or more generations ago reuse, even within the grace period', () => {
    expect(classifyPresentedToken(stored({ supersededAt: NOW, nextSealed: 'sealed' }), presenting(OLDER))).toBe('reuse');
  });

  it('calls the previous token grace while it was superseded less than the grace period ago', () => {
    const family = stored({ supersededAt: NOW - 29, nextSealed: 'sealed' });
    expect(classifyPresentedToken(family, presenting(PREVIOUS))).toBe('grace');
    expect(classifyPresentedToken(family, presenting(PREVIOUS, NOW + 1))).toBe('reuse');
    expect(classifyPresentedToken(family, presenting(PREVIOUS, NOW, 0))).toBe('reuse');
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
      family: expect.objectContaining({ sub: stored().sub, fid: FID, sid: 'public-session-id', generation: 3 }),
    });
    expect(JSON.stringify(result)).not.toContain('hash-of');
  });

  it('answers rotated, with the family as our own write left it, for a repeat of our own rotation', () => {
    const result = refusedRotation(stored({ currentHash: NEXT, generation: 4 }), presenting(CURRENT));
    expect(result).toEqual({ outcome: 'rotated', family: expect.objectContaining({ generation: 4, sid: 'public-session-id' }), tokenKey: KEY });
    expect(JSON.stringify(result)).not.toContain('hash-of');
  });

  it('answers resent with the successor already issued for the previous token within the grace period', () => {
    const previous = tokenAt(2);
    const successor = mintUntagged(SUB, FID, 3, (n) => new Uint8Array(n).fill(9));
    const family = stored({ currentHash: successor.hash, prevHash: previous.hash, supersededAt: NOW - 1, nextSealed: sealSuccessor(previous, successor.secret, new Uint8Array(12)) });
    const result = refusedRotation(family, { presented: previous, presentedHash: previous.hash, nextHash: NEXT, nowSeconds: NOW, graceSeconds: 30 });
    expect(result.outcome).toBe('resent');
    if (result.outcome !== 'resent') return;
    expect(tagToken({ body: successor.body }, KEY)).toBe(tagToken(mintUntagged(SUB, FID, 3, () => result.successorSecret), result.tokenKey));
  });

  it('asks for a retry, not a logout, when the sealed successor does not open or is not the current token', () => {
    const previous = tokenAt(2);
    const family = stored({ prevHash: previous.hash, supersededAt: NOW - 1, nextSealed: sealSuccessor(previous, new Uint8Array(32), new Uint8Array(12)) });
    const presentation = { presented: previous, presentedHash: previous.hash, nextHash: NEXT, nowSeconds: NOW, graceSeconds: 30 };
    expect(() => refusedRotation(family, presentation)).toThrow(RetryableConflictError);
    expect(() => refusedRotation({ ...family, nextSealed: 'garbage' }, presentation)).toThrow(RetryableConflictError);
  });

  it('asks for a retry, not a logout, if a refused write ever reads back as current', () => {
    expect(() => refusedRotation(stored(), presenting(CURRENT))).toThrow(RetryableConflictError);
  });
});
