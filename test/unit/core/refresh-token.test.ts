import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  mintRefreshToken,
  newFamilyId,
  parseRefreshToken,
  REFRESH_TOKEN_LENGTH,
} from '../../../lambdas/core/refresh-token.ts';
import { hashBearerToken } from '../../../lambdas/core/token-hash.ts';
import { countingRandom, SUB } from './fakes.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const FID = newFamilyId(() => new Uint8Array(16).fill(0xab));

function mint(sub = SUB, fid = FID): { token: string; hash: string } {
  const random = countingRandom();
  return mintRefreshToken(sub, fid, (n) => random.bytes(n));
}

/** Replaces the character at `index`. */
function withCharAt(text: string, index: number, char: string): string {
  return text.slice(0, index) + char + text.slice(index + 1);
}

describe('minting and parsing a refresh token', () => {
  it('gives back the sub and the family id it was minted with', () => {
    const { token } = mint();
    const parsed = parseRefreshToken(token);
    expect(parsed?.sub).toBe(SUB);
    expect(parsed?.fid).toBe(FID);
  });

  it('hashes the token as the SHA-256 of its string, base64url-encoded', () => {
    const { token, hash } = mint();
    const expected = createHash('sha256').update(token, 'utf8').digest('base64url');
    expect(hash).toBe(expected);
    expect(hashBearerToken(token)).toBe(expected);
    expect(parseRefreshToken(token)?.hash).toBe(expected);
  });

  it('is exactly REFRESH_TOKEN_LENGTH (87) characters of the base64url alphabet', () => {
    const { token } = mint();
    expect(REFRESH_TOKEN_LENGTH).toBe(87);
    expect(token).toMatch(/^[A-Za-z0-9_-]{87}$/);
  });

  it('puts the 32 bytes of the random source after the version, sub and family id', () => {
    const secret = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
    const asked: number[] = [];
    const { token } = mintRefreshToken(SUB, FID, (n) => {
      asked.push(n);
      return secret;
    });
    expect(asked).toEqual([32]);
    const bytes = Buffer.from(token, 'base64url');
    expect(bytes.length).toBe(65);
    expect(bytes[0]).toBe(1);
    expect(bytes.subarray(1, 17).toString('hex')).toBe(SUB.replaceAll('-', ''));
    expect(bytes.subarray(17, 33)).toEqual(Buffer.alloc(16, 0xab));
    expect(bytes.subarray(33)).toEqual(Buffer.from(secret));
  });

  it('makes two tokens of the same family differ when the random bytes differ', () => {
    const random = countingRandom();
    const a = mintRefreshToken(SUB, FID, (n) => random.bytes(n));
    const b = mintRefreshToken(SUB, FID, (n) => random.bytes(n));
    expect(a.token).not.toBe(b.token);
    expect(a.hash).not.toBe(b.hash);
  });
});

describe('minting refuses bad input', () => {
  for (const sub of ['alice', '', '0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9', '0f1e2d3c4b5a49788695a4b3c2d1e0f9', `${SUB}0`, `{${SUB}}`]) {
    it(`rejects the non-UUID (or non-canonical UUID) sub ${JSON.stringify(sub)}`, () => {
      expect(() => mint(sub)).toThrow(/UUID sub/);
    });
  }

  it('rejects a family id that is not 16 bytes', () => {
    expect(() => mint(SUB, newFamilyId(() => new Uint8Array(15)))).toThrow(/16-byte family id/);
  });

  it('rejects a family id that is not canonical base64url', () => {
    expect(() => mint(SUB, `${FID.slice(0, 21)}+`)).toThrow(/16-byte family id/);
  });

  it('rejects a random source that returns fewer than 32 bytes', () => {
    expect(() => mintRefreshToken(SUB, FID, () => new Uint8Array(31))).toThrow(/wrong length/);
  });
});

describe('parsing rejects anything but the one canonical spelling', () => {
  const { token } = mint();

  it('rejects a token one character short', () => expect(parseRefreshToken(token.slice(0, -1))).toBeUndefined());
  it('rejects a token one character long', () => expect(parseRefreshToken(`${token}A`)).toBeUndefined());
  it('rejects the empty string', () => expect(parseRefreshToken('')).toBeUndefined());
  it('rejects the token with "=" padding appended', () => expect(parseRefreshToken(`${token}=`)).toBeUndefined());
  it('rejects "=" in place of the last character', () => expect(parseRefreshToken(withCharAt(token, 86, '='))).toBeUndefined());

  it('rejects the standard-alphabet "+" and "/" where base64url has "-" and "_"', () => {
    // A secret of 0xfb/0xff bytes spells "-" and "_" in base64url, "+" and "/" in base64.
    const spiky = mintRefreshToken(SUB, FID, (n) => new Uint8Array(n).map((_, i) => (i % 2 === 0 ? 0xfb : 0xff))).token;
    expect(parseRefreshToken(spiky)).toBeDefined();
    const standard = Buffer.from(spiky, 'base64url').toString('base64').replace(/=+$/, '');
    expect(standard).not.toBe(spiky);
    expect(standard).toMatch(/[+/]/);
    expect(standard).toHaveLength(87);
    expect(parseRefreshToken(standard)).toBeUndefined();
    expect(parseRefreshToken(withCharAt(token, 40, '+'))).toBeUndefined();
    expect(parseRefreshToken(withCharAt(token, 40, '/'))).toBeUndefined();
  });

  for (const [name, ws] of [['a space', ' '], ['a tab', '\t'], ['a newline', '\n'], ['a carriage return', '\r']] as const) {
    it(`rejects ${name} inside the token, even at the right length`, () => {
      expect(parseRefreshToken(withCharAt(token, 10, ws))).toBeUndefined();
      expect(parseRefreshToken(`${token.slice(0, 86)}${ws}`)).toBeUndefined();
    });
  }

  it('rejects a token whose version byte is not 1', () => {
    for (const version of [0, 2, 0xff]) {
      const bytes = Buffer.from(token, 'base64url');
      bytes[0] = version;
      const forged = bytes.toString('base64url');
      expect(forged).toHaveLength(87);
      expect(parseRefreshToken(forged)).toBeUndefined();
    }
  });

  it('rejects a last character that decodes to the same bytes (non-zero trailing bits)', () => {
    const last = token.at(-1) ?? '';
    const original = Buffer.from(token, 'base64url');
    const variants = [...ALPHABET]
      .filter((c) => c !== last)
      .map((c) => withCharAt(token, 86, c))
      .filter((variant) => Buffer.from(variant, 'base64url').equals(original));
    // 65 bytes leave 2 unused bits in the last character: 3 other spellings of the same bytes.
    expect(variants).toHaveLength(3);
    for (const variant of variants) expect(parseRefreshToken(variant)).toBeUndefined();
    expect(parseRefreshToken(token)).toBeDefined();
  });

  it('rejects a non-ASCII character at the right length', () => {
    expect(parseRefreshToken(withCharAt(token, 5, 'é'))).toBeUndefined();
  });

  it('rejects a refresh-token-length string of the right alphabet that is not a token (wrong version)', () => {
    expect(parseRefreshToken('A'.repeat(87))).toBeUndefined();
  });
});
