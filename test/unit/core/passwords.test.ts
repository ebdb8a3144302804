import { randomBytes } from 'node:crypto';
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
});
