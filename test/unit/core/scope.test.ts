import { describe, expect, it } from 'vitest';
import { formatScope, grantScopes, isScopeToken, MAX_SCOPES, parseScope } from '../../../lambdas/core/scope.ts';

describe('isScopeToken (RFC 6749 §3.3: %x21 / %x23-5B / %x5D-7E)', () => {
  it('accepts every allowed printable ASCII character', () => {
    for (let code = 0x21; code <= 0x7e; code += 1) {
      const char = String.fromCharCode(code);
      expect(isScopeToken(char)).toBe(char !== '"' && char !== '\\');
    }
  });
  it('accepts typical scopes such as "read:users" and "https://api.example.com/x"', () => {
    expect(isScopeToken('read:users')).toBe(true);
    expect(isScopeToken('https://api.example.com/x')).toBe(true);
  });
  it('rejects a double quote', () => expect(isScopeToken('a"b')).toBe(false));
  it('rejects a backslash', () => expect(isScopeToken('a\\b')).toBe(false));
  it('rejects a space', () => expect(isScopeToken('a b')).toBe(false));
  it('rejects control characters and DEL', () => {
    for (const char of ['\t', '\n', '\0', '\x7f']) expect(isScopeToken(`a${char}`)).toBe(false);
  });
  it('rejects non-ASCII characters', () => expect(isScopeToken('lecture-é')).toBe(false));
  it('rejects the empty string', () => expect(isScopeToken('')).toBe(false));
  it('accepts 128 characters and rejects 129', () => {
    expect(isScopeToken('a'.repeat(128))).toBe(true);
    expect(isScopeToken('a'.repeat(129))).toBe(false);
  });
});

describe('parseScope', () => {
  it('splits a space-delimited list, keeping order', () => expect(parseScope('write read admin')).toEqual(['write', 'read', 'admin']));
  it('collapses duplicates, keeping the first occurrence', () => expect(parseScope('read write read')).toEqual(['read', 'write']));
  it('is case-sensitive: "Read" and "read" are two scopes', () => expect(parseScope('Read read')).toEqual(['Read', 'read']));
  it('parses the empty string as no scopes', () => expect(parseScope('')).toEqual([]));
  it('rejects a list containing a quoted token', () => expect(parseScope('read "write"')).toBeUndefined());
  it('rejects a list containing a backslash', () => expect(parseScope('read wr\\ite')).toBeUndefined());
  it('rejects tab-delimited scopes (only SP delimits)', () => expect(parseScope('read\twrite')).toBeUndefined());
  it('rejects a list with an over-long token', () => expect(parseScope(`read ${'x'.repeat(129)}`)).toBeUndefined());
  it(`accepts ${MAX_SCOPES} distinct scopes and rejects ${MAX_SCOPES + 1}`, () => {
    const scopes = (n: number): string => Array.from({ length: n }, (_, i) => `s${i}`).join(' ');
    expect(parseScope(scopes(MAX_SCOPES))).toHaveLength(MAX_SCOPES);
    expect(parseScope(scopes(MAX_SCOPES + 1))).toBeUndefined();
  });
});

describe('grantScopes', () => {
  it('grants everything the user holds when no scope was requested', () => expect(grantScopes(undefined, ['a', 'b'])).toEqual(['a', 'b']));
  it('grants exactly the requested subset', () => expect(grantScopes(['b'], ['a', 'b', 'c'])).toEqual(['b']));
  it('refuses when one requested scope is not held', () => expect(grantScopes(['a', 'z'], ['a', 'b'])).toBeUndefined());
  it('refuses any scope to a user who holds none', () => expect(grantScopes(['a'], [])).toBeUndefined());
  it('refuses a scope that differs only in case', () => expect(grantScopes(['A'], ['a'])).toBeUndefined());
  it('formats scopes back space-delimited', () => expect(formatScope(['a', 'b'])).toBe('a b'));
});
