import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';
import {
  keysToVerify,
  MAX_REGISTRY_KEYS,
  checkRotation,
  fallbackSigningKey,
  mayAwaitAuthorization,
  nextVerifyDeadline,
  parseKeyRegistry,
  retirementWindowSeconds,
  rotateRegistry,
  seedRegistry,
  signingKeyOf,
  verifyingKeysOf,
  type KeyRegistry,
} from '../../../lambdas/core/key-registry.ts';

const NOW = 1_700_000_000;
const kid = (n: number): string => `${String(n).padStart(2, '0')}${'k'.repeat(41)}`;
const key = (n: number) => ({ keyId: `arn:aws:kms:us-east-1:111122223333:key/${n}`, kid: kid(n), alg: 'RS256' as const });
const WINDOW = retirementWindowSeconds({ accessTokenTtlSeconds: 900, clockSkewSeconds: 60 });

describe('key registry rules', () => {
  it('signs with the seeded key before any rotation', () => {
    const registry = seedRegistry({ ...key(1), createdAt: NOW });
    expect(signingKeyOf(registry).kid).toBe(kid(1));
    expect(verifyingKeysOf(registry, NOW).map((k) => k.kid)).toEqual([kid(1)]);
  });

  it('makes the new key sign at once and keeps the old one verifying for the window', () => {
    const rotated = rotateRegistry(seedRegistry({ ...key(1), createdAt: NOW - 100 }), { key: key(2), nowSeconds: NOW, retireWindowSeconds: WINDOW });
    expect(rotated.version).toBe(1);
    expect(signingKeyOf(rotated).kid).toBe(kid(2));
    const old = rotated.keys.find((k) => k.kid === kid(1));
    expect(old).toMatchObject({ retiredAt: NOW, verifyUntil: NOW + 960 });
    expect(verifyingKeysOf(rotated, NOW + 960).map((k) => k.kid)).toEqual([kid(2), kid(1)]);
  });

  it('stops verifying a retired key one second after its window, not before', () => {
    const rotated = rotateRegistry(seedRegistry({ ...key(1), createdAt: NOW - 100 }), { key: key(2), nowSeconds: NOW, retireWindowSeconds: WINDOW });
    expect(verifyingKeysOf(rotated, NOW + WINDOW).map((k) => k.kid)).toContain(kid(1));
    expect(verifyingKeysOf(rotated, NOW + WINDOW + 1).map((k) => k.kid)).toEqual([kid(2)]);
    expect(nextVerifyDeadline(rotated.keys, NOW)).toBe(NOW + WINDOW);
    expect(nextVerifyDeadline(rotated.keys, NOW + WINDOW + 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('keeps three keys verifying across two quick rotations, each retired key with its own window', () => {
    let registry: KeyRegistry = seedRegistry({ ...key(1), createdAt: NOW - 100 });
    registry = rotateRegistry(registry, { key: key(2), nowSeconds: NOW, retireWindowSeconds: WINDOW });
    registry = rotateRegistry(registry, { key: key(3), nowSeconds: NOW + 10, retireWindowSeconds: WINDOW });
    expect(signingKeyOf(registry).kid).toBe(kid(3));
    expect(verifyingKeysOf(registry, NOW + 10).map((k) => k.kid)).toEqual([kid(3), kid(1), kid(2)]);
    // Key 1's window was not extended by the second rotation.
    expect(registry.keys.find((k) => k.kid === kid(1))?.verifyUntil).toBe(NOW + WINDOW);
    expect(registry.keys.find((k) => k.kid === kid(2))?.verifyUntil).toBe(NOW + 10 + WINDOW);
  });

  it('drops keys whose window has passed at the next rotation', () => {
    let registry: KeyRegistry = seedRegistry({ ...key(1), createdAt: NOW - 100 });
    registry = rotateRegistry(registry, { key: key(2), nowSeconds: NOW, retireWindowSeconds: 5 });
    registry = rotateRegistry(registry, { key: key(3), nowSeconds: NOW + 6, retireWindowSeconds: 5 });
    expect(registry.keys.map((k) => k.kid)).toEqual([kid(2), kid(3)]);
  });

  it('with a window of 0 (a compromised key) the old key stops verifying the next second', () => {
    const rotated = rotateRegistry(seedRegistry({ ...key(1), createdAt: NOW - 100 }), { key: key(2), nowSeconds: NOW, retireWindowSeconds: 0 });
    expect(verifyingKeysOf(rotated, NOW + 1).map((k) => k.kid)).toEqual([kid(2)]);
  });

  it('keeps the new key the signer even when the operator clock is behind the previous rotation', () => {
    const registry = rotateRegistry(seedRegistry({ ...key(1), createdAt: NOW + 50 }), { key: key(2), nowSeconds: NOW, retireWindowSeconds: WINDOW });
    expect(signingKeyOf(registry).kid).toBe(kid(2));
  });

  it('refuses a key of another algorithm, a key already listed, and a negative window', () => {
    const registry = seedRegistry({ ...key(1), createdAt: NOW });
    expect(() => rotateRegistry(registry, { key: { ...key(2), alg: 'ES256' }, nowSeconds: NOW, retireWindowSeconds: WINDOW })).toThrow(/ES256/);
    expect(() => rotateRegistry(registry, { key: key(1), nowSeconds: NOW, retireWindowSeconds: WINDOW })).toThrow(/already/);
    expect(() => rotateRegistry(registry, { key: key(2), nowSeconds: NOW, retireWindowSeconds: -1 })).toThrow(ConfigurationError);
  });

  it('refuses to grow past the key limit while old windows are still open, and says so before any key is made', () => {
    let registry: KeyRegistry = seedRegistry({ ...key(0), createdAt: NOW });
    for (let n = 1; n < MAX_REGISTRY_KEYS; n += 1) registry = rotateRegistry(registry, { key: key(n), nowSeconds: NOW + n, retireWindowSeconds: WINDOW });
    expect(() => checkRotation(registry, NOW + 20, WINDOW)).toThrow(/at most/);
    expect(() => rotateRegistry(registry, { key: key(99), nowSeconds: NOW + 20, retireWindowSeconds: WINDOW })).toThrow(/at most/);
    // Once the oldest windows have passed there is room again.
    expect(() => checkRotation(registry, NOW + 1 + WINDOW + 1, WINDOW)).not.toThrow();
  });
});

describe('reading a registry item', () => {
  const good = { version: 2, keys: [{ ...key(1), createdAt: NOW, retiredAt: NOW + 1, verifyUntil: NOW + 2 }, { ...key(2), createdAt: NOW + 1 }] };

  it('reads what a rotation wrote', () => {
    const registry = parseKeyRegistry(good);
    expect(signingKeyOf(registry).kid).toBe(kid(2));
  });

  it.each([
    ['not an object', 'x'],
    ['no keys', { version: 1, keys: [] }],
    ['no signing key', { version: 1, keys: [{ ...key(1), createdAt: NOW, retiredAt: NOW, verifyUntil: NOW }] }],
    ['a bad kid', { version: 1, keys: [{ ...key(1), kid: 'short', createdAt: NOW }] }],
    ['an unknown alg', { version: 1, keys: [{ ...key(1), alg: 'none', createdAt: NOW }] }],
    ['retiredAt without verifyUntil', { version: 1, keys: [{ ...key(1), createdAt: NOW, retiredAt: NOW }, { ...key(2), createdAt: NOW }] }],
    ['verifyUntil before retiredAt', { version: 1, keys: [{ ...key(1), createdAt: NOW, retiredAt: NOW, verifyUntil: NOW - 1 }, { ...key(2), createdAt: NOW }] }],
    ['the same kid twice', { version: 1, keys: [{ ...key(1), createdAt: NOW }, { ...key(1), keyId: 'other', createdAt: NOW }] }],
    ['two algorithms', { version: 1, keys: [{ ...key(1), createdAt: NOW }, { ...key(2), alg: 'ES256', createdAt: NOW }] }],
    ['a fractional version', { version: 1.5, keys: good.keys }],
  ])('refuses an item with %s', (_name, item) => {
    expect(() => parseKeyRegistry(item)).toThrow(ConfigurationError);
  });
});

describe('signing while KMS has not yet authorized a new key', () => {
  const LIFETIME = 960;
  const rotatedAt = (window: number) => rotateRegistry(seedRegistry({ ...key(1), createdAt: NOW - 100 }), { key: key(2), nowSeconds: NOW, retireWindowSeconds: window });

  it('treats a key as possibly unauthorized for the five minutes KMS may take, and not after', () => {
    const registry = rotatedAt(WINDOW);
    expect(mayAwaitAuthorization(signingKeyOf(registry), NOW + 299)).toBe(true);
    expect(mayAwaitAuthorization(signingKeyOf(registry), NOW + 300)).toBe(false);
  });

  it('falls back to the key it replaced while that key verifies long enough for a token signed now', () => {
    expect(fallbackSigningKey(rotatedAt(3900), NOW + 10, LIFETIME)?.kid).toBe(kid(1));
    expect(fallbackSigningKey(rotatedAt(960), NOW, LIFETIME)?.kid).toBe(kid(1));
    expect(fallbackSigningKey(rotatedAt(960), NOW + 1, LIFETIME)).toBeUndefined();
  });

  it('never falls back to a key retired as compromised (window 0)', () => {
    expect(fallbackSigningKey(rotatedAt(0), NOW, LIFETIME)).toBeUndefined();
  });

  it('falls back to the most recently retired key', () => {
    let registry: KeyRegistry = seedRegistry({ ...key(1), createdAt: NOW - 100 });
    registry = rotateRegistry(registry, { key: key(2), nowSeconds: NOW, retireWindowSeconds: 3900 });
    registry = rotateRegistry(registry, { key: key(3), nowSeconds: NOW + 5, retireWindowSeconds: 3900 });
    expect(fallbackSigningKey(registry, NOW + 6, LIFETIME)?.kid).toBe(kid(2));
  });
});

describe('keysToVerify', () => {
  const deployTime = { verifyKeyIds: [key(0).keyId, key(1).keyId, key(9).keyId], additionalVerifyKeyIds: [key(9).keyId] };

  it('before the first rotation: every deploy-time key, as deployed', () => {
    expect(keysToVerify(undefined, deployTime, NOW).map((k) => k.keyId)).toEqual(deployTime.verifyKeyIds);
  });

  it("after it: the registry's keys (signing first, a compromised one gone at once) and the keys trusted from elsewhere, not our own old generations", () => {
    const registry = rotateRegistry(seedRegistry({ ...key(0), createdAt: NOW - 10 }), { key: key(2), nowSeconds: NOW, retireWindowSeconds: 0 });
    const trusted = keysToVerify(registry, deployTime, NOW + 1);
    expect(trusted.map((k) => k.keyId)).toEqual([key(2).keyId, key(9).keyId]);
    expect(trusted[0]).toMatchObject({ kid: kid(2), verifyUntil: undefined });
    expect(trusted[1]).toEqual({ keyId: key(9).keyId, kid: undefined, verifyUntil: undefined });
  });
});
