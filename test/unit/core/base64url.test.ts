import { describe, expect, it } from 'vitest';
import { decodeCanonical, encode } from '../../../lambdas/core/base64url.ts';

describe('decodeCanonical accepts canonical base64url', () => {
  it('decodes the RFC 4648 §10 test vectors, unpadded', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg'],
      ['fo', 'Zm8'],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg'],
      ['fooba', 'Zm9vYmE'],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(decodeCanonical(encoded)?.toString('utf8')).toBe(plain);
      expect(encode(plain)).toBe(encoded);
    }
  });

  it('decodes the URL-safe characters "-" and "_"', () => {
    expect(decodeCanonical('-_8')).toEqual(Buffer.from([0xfb, 0xff]));
  });

  it('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(decodeCanonical(encode(all))).toEqual(Buffer.from(all));
  });
});

describe('decodeCanonical rejects every other spelling', () => {
  const cases: [string, string][] = [
    ['"=" padding', 'Zm8='],
    ['double "=" padding', 'Zg=='],
    ['"+" from the standard alphabet', '+_8'],
    ['"/" from the standard alphabet', '-/8'],
    ['a space inside', 'Zm 9v'],
    ['a trailing newline', 'Zm9v\n'],
    ['a leading tab', '\tZm9v'],
    ['a length of 1 mod 4', 'Zm9vY'],
    ['a single character', 'Z'],
    ['non-zero trailing bits after one byte ("Zh" decodes like "Zg")', 'Zh'],
    ['non-zero trailing bits after two bytes ("Zm9" decodes like "Zm8")', 'Zm9'],
    ['a non-ASCII letter', 'Zm9é'],
    ['a "." separator', 'Zm9v.Zm9v'],
  ];
  for (const [name, text] of cases) {
    it(`rejects ${name}`, () => expect(decodeCanonical(text)).toBeUndefined());
  }

  it('rejects every non-canonical last character of a 2-byte value', () => {
    const canonical = encode(Uint8Array.of(0xab, 0xcd));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sameBytes = [...alphabet]
      .map((c) => canonical.slice(0, -1) + c)
      .filter((text) => Buffer.from(text, 'base64url').equals(Buffer.from([0xab, 0xcd])));
    expect(sameBytes).toHaveLength(4);
    expect(sameBytes.filter((text) => decodeCanonical(text) !== undefined)).toEqual([canonical]);
  });
});
