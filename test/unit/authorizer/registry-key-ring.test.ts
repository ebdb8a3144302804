/**
 * The verifiers' key ring over the key registry: loads once, follows rotations without a cold
 * start, drops a retired key by itself when its window ends, and cannot be made to hammer
 * DynamoDB or KMS by tokens with made-up kids.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RegistryKeyRing, VERIFIER_RING_OPTIONS } from '../../../lambdas/adapters/kms/registry-key-ring.ts';
import { rotateRegistry, seedRegistry, type KeyRegistry } from '../../../lambdas/core/key-registry.ts';
import { jwkThumbprint } from '../../../lambdas/core/jwk-thumbprint.ts';
import type { KeyRegistryReader } from '../../../lambdas/core/ports.ts';
import { ConfigurationError, DependencyUnavailableError } from '../../../lambdas/core/errors.ts';

const T0 = 1_700_000_000;

function kmsKey(n: number) {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { keyId: `arn:aws:kms:us-east-1:111122223333:key/${n}`, kid: jwkThumbprint(publicKey), alg: 'ES256' as const, der: publicKey.export({ format: 'der', type: 'spki' }) };
}
const KEYS = [kmsKey(0), kmsKey(1), kmsKey(2), kmsKey(3)];
const byId = new Map(KEYS.map((key) => [key.keyId, key]));

function harness(initial: KeyRegistry | undefined, deployTime = { verifyKeyIds: [KEYS[0]?.keyId ?? ''], additionalVerifyKeyIds: [] as string[] }) {
  const clock = { ms: T0 * 1000 };
  const state = { registry: initial, reads: 0, getPublicKeys: 0, failReads: false };
  const registry: KeyRegistryReader = {
    read: async () => {
      state.reads++;
      if (state.failReads) throw new DependencyUnavailableError('DynamoDB');
      return state.registry;
    },
  };
  const getPublicKey = async (keyId: string) => {
    state.getPublicKeys++;
    const key = byId.get(keyId);
    if (key === undefined) throw new Error('NotFoundException');
    return { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PublicKey: new Uint8Array(key.der) };
  };
  const ring = new RegistryKeyRing(registry, getPublicKey, deployTime, { ...VERIFIER_RING_OPTIONS, nowMs: () => clock.ms });
  return { clock, state, ring };
}
const record = (n: number) => {
  const { keyId, kid, alg } = KEYS[n] ?? kmsKey(99);
  return { keyId, kid, alg };
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('verification keys from the key registry', () => {
  it('after a rotation, keys trusted from elsewhere (ADDITIONAL_VERIFY_KEY_IDS) keep verifying; the deploy-time keys of our own that the registry does not name do not', async () => {
    // Deployed with key 0 signing, key 1 an older generation, key 3 another issuer's key.
    const deployTime = { verifyKeyIds: [KEYS[0], KEYS[1], KEYS[3]].map((key) => key?.keyId ?? ''), additionalVerifyKeyIds: [KEYS[3]?.keyId ?? ''] };
    const before = harness(undefined, deployTime);
    expect([...(await before.ring.current()).keys()].sort()).toEqual([KEYS[0]?.kid, KEYS[1]?.kid, KEYS[3]?.kid].sort());
    // The first rotate-key seeds key 0 and retires it at once (a compromise), key 2 signs.
    const rotated = rotateRegistry(seedRegistry({ ...record(0), createdAt: T0 }), { key: record(2), nowSeconds: T0, retireWindowSeconds: 0 });
    const after = harness(rotated, deployTime);
    after.clock.ms += 2_000;
    expect([...(await after.ring.current()).keys()].sort()).toEqual([KEYS[2]?.kid, KEYS[3]?.kid].sort());
  });

  it('uses the deploy-time keys while no rotation has been made', async () => {
    const { ring, state } = harness(undefined);
    expect([...(await ring.current()).keys()]).toEqual([KEYS[0]?.kid]);
    expect(state.reads).toBe(1);
  });

  it('loads once: a warm request reads neither DynamoDB nor KMS, and gets the very same lookup', async () => {
    const { ring, state } = harness(seedRegistry({ ...record(0), createdAt: T0 }));
    const first = await ring.current();
    for (let i = 0; i < 50; i++) expect(await ring.current()).toBe(first);
    expect(state.reads).toBe(1);
    expect(state.getPublicKeys).toBe(1);
  });

  it('reloads for an unknown kid, reading KMS only for the key it has not seen', async () => {
    const h = harness(seedRegistry({ ...record(0), createdAt: T0 }));
    await h.ring.current();
    h.state.registry = rotateRegistry(h.state.registry ?? seedRegistry({ ...record(0), createdAt: T0 }), { key: record(1), nowSeconds: T0 + 1, retireWindowSeconds: 60 });
    h.clock.ms += 2_000;
    const reloaded = await h.ring.reloadForUnknownKid();
    expect([...(reloaded?.keys() ?? [])].sort()).toEqual([KEYS[0]?.kid, KEYS[1]?.kid].sort());
    expect(h.state.getPublicKeys).toBe(2);
  });

  it('a flood of unknown kids costs at most one registry read per cooldown', async () => {
    const h = harness(seedRegistry({ ...record(0), createdAt: T0 }));
    await h.ring.current();
    h.clock.ms += 2_000;
    const answers = await Promise.all(Array.from({ length: 200 }, () => h.ring.reloadForUnknownKid()));
    expect(h.state.reads).toBe(2);
    for (let i = 0; i < 200; i++) expect(await h.ring.reloadForUnknownKid()).toBeUndefined();
    expect(h.state.reads).toBe(2);
    expect(answers.filter((answer) => answer !== undefined).length).toBe(200); // the concurrent ones shared the one reload
    h.clock.ms += VERIFIER_RING_OPTIONS.unknownKidCooldownMs;
    await h.ring.reloadForUnknownKid();
    expect(h.state.reads).toBe(3);
  });

  it('picks up a rotation in the background after the refresh interval, without a cold start', async () => {
    const h = harness(seedRegistry({ ...record(0), createdAt: T0 }));
    await h.ring.current();
    h.state.registry = rotateRegistry(h.state.registry ?? seedRegistry({ ...record(0), createdAt: T0 }), { key: record(1), nowSeconds: T0 + 1, retireWindowSeconds: 600 });
    h.clock.ms += VERIFIER_RING_OPTIONS.refreshMs - 1;
    expect((await h.ring.current()).size).toBe(1);
    expect(h.state.reads).toBe(1);
    h.clock.ms += 1;
    expect((await h.ring.current()).size).toBe(1); // served from the set held while the reload runs
    await settle();
    await settle();
    expect((await h.ring.current()).has(KEYS[1]?.kid ?? '')).toBe(true);
    expect(h.state.reads).toBe(2);
  });

  it('drops a retired key by itself the second after its window, before any reload', async () => {
    const rotated = rotateRegistry(seedRegistry({ ...record(0), createdAt: T0 - 10 }), { key: record(1), nowSeconds: T0, retireWindowSeconds: 30 });
    const h = harness(rotated);
    expect((await h.ring.current()).has(KEYS[0]?.kid ?? '')).toBe(true);
    h.clock.ms = (T0 + 30) * 1000 + 999;
    expect((await h.ring.current()).has(KEYS[0]?.kid ?? '')).toBe(true);
    h.clock.ms = (T0 + 31) * 1000;
    const after = await h.ring.current();
    expect([...after.keys()]).toEqual([KEYS[1]?.kid]);
    expect(h.state.reads).toBe(1);
    expect((await h.ring.publishedKeySet().keys()).map((key) => key.kid)).toEqual([KEYS[1]?.kid]);
  });

  it('fails closed (503) when the registry cannot be read at first, and keeps its keys when a later read fails', async () => {
    const h = harness(seedRegistry({ ...record(0), createdAt: T0 }));
    h.state.failReads = true;
    await expect(h.ring.current()).rejects.toBeInstanceOf(DependencyUnavailableError);
    h.clock.ms += VERIFIER_RING_OPTIONS.failureBackoffMs;
    h.state.failReads = false;
    const keys = await h.ring.current();
    h.state.failReads = true;
    h.clock.ms += VERIFIER_RING_OPTIONS.refreshMs;
    await h.ring.current();
    await settle();
    expect(await h.ring.current()).toBe(keys);
  });

  it('trusts no key of a registry whose kid is not the key it names', async () => {
    const h = harness({ version: 1, keys: [{ ...record(0), kid: KEYS[1]?.kid ?? '', createdAt: T0 }] });
    await expect(h.ring.current()).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('the JWKS view reads the registry on every request and lists the signing key first', async () => {
    const h = harness(seedRegistry({ ...record(0), createdAt: T0 }));
    const jwks = new RegistryKeyRing(
      { read: async () => (h.state.reads++, h.state.registry) },
      async (keyId) => ({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PublicKey: new Uint8Array(byId.get(keyId)?.der ?? []) }),
      { verifyKeyIds: [], additionalVerifyKeyIds: [] },
      { ...VERIFIER_RING_OPTIONS, refreshMs: 0, awaitRefresh: true, nowMs: () => h.clock.ms },
    ).publishedKeySet();
    expect((await jwks.keys()).length).toBe(1);
    h.state.registry = rotateRegistry(h.state.registry ?? seedRegistry({ ...record(0), createdAt: T0 }), { key: record(2), nowSeconds: T0, retireWindowSeconds: 60 });
    expect((await jwks.keys()).map((key) => key.kid)).toEqual([KEYS[2]?.kid, KEYS[0]?.kid]);
    expect(h.state.reads).toBe(2);
  });
});
