import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  hasValidTag,
  mintRefreshToken,
  newFamilyId,
  openSuccessor,
  parseRefreshToken,
  REFRESH_TOKEN_LENGTH,
  sealSuccessor,
} from '../../../lambdas/core/refresh-token.ts';
import { countingRandom, SUB } from './fakes.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const FID = newFamilyId(() => new Uint8Array(16).fill(0xab));
const KEY = new Uint8Array(32).fill(0x5a);

function mint(sub = SUB, fid = FID): { token: string; hash: string } {
  const random = countingRandom();
  return mintRefreshToken(sub, fid, 0, KEY, (n) => random.bytes(n));
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

  it('hashes the token as the SHA-256 of its body (all but the 16-byte tag), base64url-encoded', () => {
    const { token, hash } = mint();
    const expected = createHash('sha256').update(Buffer.from(token, 'base64url').subarray(0, 69)).digest('base64url');
    expect(hash).toBe(expected);
    expect(parseRefreshToken(token)?.hash).toBe(expected);
  });

  it('is exactly REFRESH_TOKEN_LENGTH (114) characters of the base64url alphabet', () => {
    const { token } = mint();
    expect(REFRESH_TOKEN_LENGTH).toBe(114);
    expect(token).toMatch(/^[A-Za-z0-9_-]{114}$/);
  });

  it('lays out version 2, sub, family id, generation, the 32 random bytes and an HMAC-SHA-256 tag of the rest', () => {
    const secret = Uint8Array.from({ length: 32 }, (_, i) => 200 - i);
    const asked: number[] = [];
    const { token } = mintRefreshToken(SUB, FID, 7, KEY, (n) => {
      asked.push(n);
      return secret;
    });
    expect(asked).toEqual([32]);
    const bytes = Buffer.from(token, 'base64url');
    expect(bytes.length).toBe(85);
    expect(bytes[0]).toBe(2);
    expect(bytes.subarray(1, 17).toString('hex')).toBe(SUB.replaceAll('-', ''));
    expect(bytes.subarray(17, 33)).toEqual(Buffer.alloc(16, 0xab));
    expect(bytes.readUInt32BE(33)).toBe(7);
    expect(bytes.subarray(37, 69)).toEqual(Buffer.from(secret));
    expect(bytes.subarray(69)).toEqual(createHmac('sha256', KEY).update(bytes.subarray(0, 69)).digest().subarray(0, 16));
    expect(parseRefreshToken(token)?.generation).toBe(7);
  });

  it('makes two tokens of the same family differ when the random bytes differ', () => {
    const random = countingRandom();
    const a = mintRefreshToken(SUB, FID, 0, KEY, (n) => random.bytes(n));
    const b = mintRefreshToken(SUB, FID, 0, KEY, (n) => random.bytes(n));
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
    expect(() => mintRefreshToken(SUB, FID, 0, KEY, () => new Uint8Array(31))).toThrow(/wrong length/);
  });
});

describe('parsing rejects anything but the one canonical spelling', () => {
  const { token } = mint();

  it('rejects a token one character short', () => expect(parseRefreshToken(token.slice(0, -1))).toBeUndefined());
  it('rejects a token one character long', () => expect(parseRefreshToken(`${token}A`)).toBeUndefined());
  it('rejects the empty string', () => expect(parseRefreshToken('')).toBeUndefined());
  it('rejects the token with "=" padding appended', () => expect(parseRefreshToken(`${token}=`)).toBeUndefined());
  it('rejects "=" in place of the last character', () => expect(parseRefreshToken(withCharAt(token, 113, '='))).toBeUndefined());

  it('rejects the standard-alphabet "+" and "/" where base64url has "-" and "_"', () => {
    // A secret of 0xfb/0xff bytes spells "-" and "_" in base64url, "+" and "/" in base64.
    const spiky = mintRefreshToken(SUB, FID, 0, KEY, (n) => new Uint8Array(n).map((_, i) => (i % 2 === 0 ? 0xfb : 0xff))).token;
    expect(parseRefreshToken(spiky)).toBeDefined();
    const standard = Buffer.from(spiky, 'base64url').toString('base64').replace(/=+$/, '');
    expect(standard).not.toBe(spiky);
    expect(standard).toMatch(/[+/]/);
    expect(standard).toHaveLength(114);
    expect(parseRefreshToken(standard)).toBeUndefined();
    expect(parseRefreshToken(withCharAt(token, 40, '+'))).toBeUndefined();
    expect(parseRefreshToken(withCharAt(token, 40, '/'))).toBeUndefined();
  });

  for (const [name, ws] of [['a space', ' '], ['a tab', '\t'], ['a newline', '\n'], ['a carriage return', '\r']] as const) {
    it(`rejects ${name} inside the token, even at the right length`, () => {
      expect(parseRefreshToken(withCharAt(token, 10, ws))).toBeUndefined();
      expect(parseRefreshToken(`${token.slice(0, 113)}${ws}`)).toBeUndefined();
    });
  }

  it('rejects a token whose version byte is not 2', () => {
    for (const version of [0, 1, 0xff]) {
      const bytes = Buffer.from(token, 'base64url');
      bytes[0] = version;
      const forged = bytes.toString('base64url');
      expect(forged).toHaveLength(114);
      expect(parseRefreshToken(forged)).toBeUndefined();
    }
  });

  it('rejects a last character that decodes to the same bytes (non-zero trailing bits)', () => {
    const last = token.at(-1) ?? '';
    const original = Buffer.from(token, 'base64url');
    const variants = [...ALPHABET]
      .filter((c) => c !== last)
      .map((c) => withCharAt(token, 113, c))
      .filter((variant) => Buffer.from(variant, 'base64url').equals(original));
    // 85 bytes leave 4 unused bits in the last character: 15 other spellings of the same bytes.
    expect(variants).toHaveLength(15);
    for (const variant of variants) expect(parseRefreshToken(variant)).toBeUndefined();
    expect(parseRefreshToken(token)).toBeDefined();
  });

  it('rejects a non-ASCII character at the right length', () => {
    expect(parseRefreshToken(withCharAt(token, 5, 'é'))).toBeUndefined();
  });

  it('rejects a refresh-token-length string of the right alphabet that is not a token (wrong version)', () => {
    expect(parseRefreshToken('A'.repeat(114))).toBeUndefined();
  });
});

describe('tags: only the family key makes them', () => {
  it('accepts the tag of a token minted with the family key', () => {
    const parsed = parseRefreshToken(mint().token);
    expect(parsed !== undefined && hasValidTag(parsed, KEY)).toBe(true);
  });

  it('refuses the tag under another family key', () => {
    const parsed = parseRefreshToken(mint().token);
    expect(parsed !== undefined && hasValidTag(parsed, new Uint8Array(32).fill(0x5b))).toBe(false);
  });

  it('refuses every token with one byte of its body or tag changed', () => {
    const bytes = Buffer.from(mint().token, 'base64url');
    for (let i = 1; i < bytes.length; i += 1) {
      const changed = Buffer.from(bytes);
      changed[i] = (changed[i] ?? 0) ^ 0x01;
      const parsed = parseRefreshToken(changed.toString('base64url'));
      expect(parsed !== undefined && hasValidTag(parsed, KEY), `byte ${i}`).toBe(false);
    }
  });
});

describe('sealed successors: only the presented token opens them', () => {
  const presented = parseRefreshToken(mint().token);
  const other = parseRefreshToken(mintRefreshToken(SUB, FID, 0, KEY, (n) => new Uint8Array(n).fill(3)).token);
  const successor = new Uint8Array(32).fill(0x77);
  const iv = new Uint8Array(12).fill(1);

  it('opens with the token it was sealed for, giving the successor secret back', () => {
    if (presented === undefined) throw new Error('unparsable');
    expect(openSuccessor(presented, sealSuccessor(presented, successor, iv))).toEqual(Buffer.from(successor));
  });

  it('does not open with another token of the same family, nor when changed', () => {
    if (presented === undefined || other === undefined) throw new Error('unparsable');
    const sealed = sealSuccessor(presented, successor, iv);
    expect(openSuccessor(other, sealed)).toBeUndefined();
    const changed = Buffer.from(sealed, 'base64url');
    changed[20] = (changed[20] ?? 0) ^ 1;
    expect(openSuccessor(presented, changed.toString('base64url'))).toBeUndefined();
    expect(openSuccessor(presented, 'not-sealed')).toBeUndefined();
  });

  it('does not contain the successor secret in the clear', () => {
    if (presented === undefined) throw new Error('unparsable');
    expect(Buffer.from(sealSuccessor(presented, successor, iv), 'base64url').includes(Buffer.from(successor))).toBe(false);
  });
});
