import { randomBytes } from 'node:crypto';
import { argon2id, argon2Verify } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { Argon2idHasher, OWASP_ARGON2ID } from '../../../lambdas/core/passwords.ts';

const hasher = new Argon2idHasher(undefined, (n) => randomBytes(n));
// Each Argon2id hash costs ~100-150 ms: make the two this file needs once.
const aliceHash = hasher.hash('correct horse battery staple');
const PHC = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

/** Same salt and hash, other parameters. */
const withParams = (phc: string, params: string): string => phc.replace('m=19456,t=2,p=1', params);

describe('Argon2idHasher', () => {
  it('uses the OWASP parameters m=19456 KiB, t=2, p=1 by default', () => {
    expect(OWASP_ARGON2ID).toMatchObject({ memoryKiB: 19_456, iterations: 2, parallelism: 1 });
  });

  it('produces a PHC string with those parameters, a 16-byte salt and a 32-byte hash', async () => {
    expect(await aliceHash).toMatch(PHC);
  });

  it('salts: the same password hashes differently each time', async () => {
    const again = await hasher.hash('correct horse battery staple');
    expect(again).toMatch(PHC);
    expect(again).not.toBe(await aliceHash);
  });

  it('verifies the right password', async () => {
    expect(await hasher.verify(await aliceHash, 'correct horse battery staple')).toBe(true);
  });

  it('rejects a wrong password', async () => {
    expect(await hasher.verify(await aliceHash, 'correct horse battery stapler')).toBe(false);
  });

  it('rejects the empty password', async () => {
    expect(await hasher.verify(await aliceHash, '')).toBe(false);
  });

  it('rejects malformed hashes without throwing', async () => {
    const phc = await aliceHash;
    for (const bad of [
      '',
      'plaintext',
      phc.replace('$argon2id$', '$argon2i$'),
      phc.replace('v=19', 'v=16'),
      `${phc}$extra`,
      phc.slice(0, -10).concat('!!!!!!!!!!'),
      '$2b$12$abcdefghijklmnopqrstuuWl1ZpJHkWZ8E2wLhXk9ZpFfrTYo2m3C',
      phc.replace('m=19456', 'm=019456'),
      phc.replace('m=19456', 'm=4294967296'),
      phc.replace('p=1', 'p=0'),
      phc.replace('t=2', 't=0'),
      `${phc}=`,
      `${phc} `,
      phc.replace(/\$[^$]+$/, '$'),
    ]) {
      expect(await hasher.verify(bad, 'correct horse battery staple')).toBe(false);
    }
  });

  it('rejects the right password against a hash whose parameters were tampered with', async () => {
    expect(await hasher.verify(withParams(await aliceHash, 'm=19456,t=3,p=1'), 'correct horse battery staple')).toBe(false);
  });

  it('does not ask for a rehash of a hash made with the current parameters', async () => {
    expect(hasher.needsRehash(await aliceHash)).toBe(false);
  });

  for (const params of ['m=65536,t=2,p=1', 'm=19456,t=1,p=1', 'm=19456,t=2,p=2', 'm=12288,t=3,p=1']) {
    it(`asks for a rehash of a hash made with ${params}`, async () => {
      expect(hasher.needsRehash(withParams(await aliceHash, params))).toBe(true);
    });
  }

  it('asks for a rehash of a hash of another length', async () => {
    const phc = await aliceHash;
    const shortHash = phc.slice(0, phc.lastIndexOf('$') + 1) + Buffer.alloc(16, 1).toString('base64').replace(/=+$/, '');
    expect(hasher.needsRehash(shortHash)).toBe(true);
  });

  it('asks for a rehash of something that is not an Argon2id PHC string', () => {
    expect(hasher.needsRehash('$2b$12$abcdefghijklmnopqrstuv')).toBe(true);
  });

  it('has a decoy hash that is a valid current-parameter hash which the empty password does not match', async () => {
    const decoy = await hasher.decoyHash;
    expect(decoy).toMatch(PHC);
    expect(hasher.needsRehash(decoy)).toBe(false);
    expect(await hasher.verify(decoy, '')).toBe(false);
  });

  it('builds the decoy from the random source: the decoy password is the base64 of 24 random bytes', async () => {
    const fixed = new Uint8Array(24).fill(9);
    const seen: number[] = [];
    const decoyHasher = new Argon2idHasher(undefined, (n) => {
      seen.push(n);
      return n === 24 ? fixed : randomBytes(n);
    });
    const decoy = await decoyHasher.decoyHash;
    expect(seen).toEqual([24, 16]);
    expect(await decoyHasher.verify(decoy, Buffer.from(fixed).toString('base64'))).toBe(true);
  });

  it('hashes without blocking the event loop: timers keep firing while a hash runs', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 2);
    try {
      await hasher.hash('correct horse battery staple');
    } finally {
      clearInterval(timer);
    }
    // An OWASP-parameter hash takes tens of milliseconds; on the event loop no timer could fire.
    expect(ticks).toBeGreaterThanOrEqual(3);
  });
});

/**
 * Hashes stored before node:crypto computed them were made by hash-wasm 4.13.0. These were
 * produced by it (random salts), with the password each one hashes.
 */
const HASH_WASM_FIXTURES: readonly (readonly [password: string, phc: string])[] = [
  ['correct horse battery staple', '$argon2id$v=19$m=19456,t=2,p=1$WxugE/Fi24cQdMK0vqn0Cw$VP+XE3f+lgm233NyFDJjeosHuY67yBrMcjMqKzm/BKg'],
  ['Grüße, 東京! 🔑 naïve café', '$argon2id$v=19$m=19456,t=2,p=1$Aw8vz2ZClP4cjHkK2rfA1g$lOxF5n1mypxmTqJS07QXVuvYO6aULbYnwISoVt99qE8'],
  ['an older, cheaper parameter set', '$argon2id$v=19$m=8192,t=1,p=1$THhsCogZ3fhLrYog65FiAQ$YAHg+hKilncHSUQbnA2Kl8p2iX0MM5s7ICLR1BKZXow'],
  [
    'two lanes and a longer tag ok',
    '$argon2id$v=19$m=12288,t=3,p=2$I32AVjjFHdkegDGLt0PSUfMve615ToZe$OGl8lzyzvCmYfn5+7I4flIx4qywh3jqln3CjJYlju9UzHLtTTPNuA6vDiBq0uxDThsdoOVFrs5GJWQzWK6t1gg',
  ],
];

describe('Argon2idHasher and hash-wasm hashes', () => {
  for (const [password, phc] of HASH_WASM_FIXTURES) {
    it(`verifies the stored hash-wasm hash ${phc.slice(0, 30)}… with its password`, async () => {
      expect(await hasher.verify(phc, password)).toBe(true);
    });

    it(`refuses the stored hash-wasm hash ${phc.slice(0, 30)}… with a password one character off`, async () => {
      expect(await hasher.verify(phc, `${password.slice(0, -1)}${password.endsWith('x') ? 'y' : 'x'}`)).toBe(false);
    });
  }

  it('produces exactly the PHC string hash-wasm produces for the same password and salt', async () => {
    const salt = new Uint8Array(16).fill(7);
    const fixedSalt = new Argon2idHasher(undefined, (n) => (n === 16 ? salt : randomBytes(n)));
    const password = 'Grüße, 東京! 🔑 naïve café';
    const expected = await argon2id({ password, salt, parallelism: 1, iterations: 2, memorySize: 19_456, hashLength: 32, outputType: 'encoded' });
    expect(await fixedSalt.hash(password)).toBe(expected);
  });

  it('makes hashes that hash-wasm verifies, and hash-wasm refuses them with a wrong password', async () => {
    const phc = await aliceHash;
    expect(await argon2Verify({ password: 'correct horse battery staple', hash: phc })).toBe(true);
    expect(await argon2Verify({ password: 'correct horse battery stapler', hash: phc })).toBe(false);
  });

  it('verifies a fresh hash-wasm hash made with other parameters and asks to rehash it', async () => {
    const password = 'lone surrogate \ud800 becomes U+FFFD in both';
    const phc = await argon2id({ password, salt: randomBytes(16), parallelism: 2, iterations: 1, memorySize: 8_192, hashLength: 32, outputType: 'encoded' });
    expect(await hasher.verify(phc, password)).toBe(true);
    expect(hasher.needsRehash(phc)).toBe(true);
  });
});
