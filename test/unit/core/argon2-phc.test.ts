import { describe, expect, it } from 'vitest';
import { decodeArgon2idPhc, encodeArgon2idPhc, PHC_LIMITS } from '../../../lambdas/core/argon2-phc.ts';

// Made by hash-wasm 4.13.0 (random salt): the format every stored hash has.
const STORED = '$argon2id$v=19$m=19456,t=2,p=1$WxugE/Fi24cQdMK0vqn0Cw$VP+XE3f+lgm233NyFDJjeosHuY67yBrMcjMqKzm/BKg';

describe('Argon2id PHC strings', () => {
  it('decodes the parameters, the 16-byte salt and the 32-byte hash of a stored hash', () => {
    const decoded = decodeArgon2idPhc(STORED);
    expect(decoded).toMatchObject({ memoryKiB: 19_456, iterations: 2, parallelism: 1 });
    expect(Buffer.from(decoded?.salt ?? []).toString('base64')).toBe('WxugE/Fi24cQdMK0vqn0Cw==');
    expect(decoded?.hash.length).toBe(32);
  });

  it('encodes what it decoded back to the very same string', () => {
    const decoded = decodeArgon2idPhc(STORED);
    expect(decoded).toBeDefined();
    if (decoded !== undefined) expect(encodeArgon2idPhc(decoded)).toBe(STORED);
  });

  it('encodes without base64 padding, as the reference implementation does', () => {
    const phc = encodeArgon2idPhc({ memoryKiB: 8, iterations: 1, parallelism: 1, salt: new Uint8Array(16), hash: new Uint8Array(32) });
    expect(phc).toBe('$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  });

  const refused: [string, unknown][] = [
    ['a non-string', 42],
    ['the empty string', ''],
    ['another variant (argon2i)', STORED.replace('$argon2id$', '$argon2i$')],
    ['another variant (argon2d)', STORED.replace('$argon2id$', '$argon2d$')],
    ['another version (v=16)', STORED.replace('v=19', 'v=16')],
    ['a missing version', STORED.replace('$v=19', '')],
    ['parameters out of order', STORED.replace('m=19456,t=2,p=1', 't=2,m=19456,p=1')],
    ['a leading zero', STORED.replace('m=19456', 'm=019456')],
    ['a sign', STORED.replace('t=2', 't=+2')],
    ['zero passes', STORED.replace('t=2', 't=0')],
    ['zero lanes', STORED.replace('p=1', 'p=0')],
    ['less memory than 8 KiB per lane', STORED.replace('m=19456,t=2,p=1', 'm=15,t=2,p=2')],
    ['more memory than the limit', STORED.replace('m=19456', `m=${PHC_LIMITS.maxMemoryKiB + 1}`)],
    ['more passes than the limit', STORED.replace('t=2', `t=${PHC_LIMITS.maxIterations + 1}`)],
    ['more lanes than the limit', STORED.replace('p=1', `p=${PHC_LIMITS.maxParallelism + 1}`)],
    ['a number beyond 2^32', STORED.replace('m=19456', 'm=4294967296')],
    ['padded base64', `${STORED}=`],
    ['base64url characters', STORED.replace('/', '_')],
    ['non-canonical trailing bits in the salt', STORED.replace('vqn0Cw$', 'vqn0Cx$')],
    ['a salt shorter than 8 bytes', STORED.replace('WxugE/Fi24cQdMK0vqn0Cw', 'AAAAAAAAAA')],
    ['a hash shorter than 16 bytes', STORED.replace(/\$[^$]+$/, '$AAAAAAAAAAAAAAAAAAAA')],
    ['an empty hash', STORED.replace(/\$[^$]+$/, '$')],
    ['an extra field', `${STORED}$AAAA`],
    ['trailing whitespace', `${STORED} `],
    ['a trailing newline', `${STORED}\n`],
    ['a bcrypt hash', '$2b$12$abcdefghijklmnopqrstuuWl1ZpJHkWZ8E2wLhXk9ZpFfrTYo2m3C'],
    ['something huge', `${STORED}${'A'.repeat(10_000)}`],
  ];
  for (const [what, phc] of refused) {
    it(`refuses ${what}`, () => {
      expect(decodeArgon2idPhc(phc)).toBeUndefined();
    });
  }
});
