/**
 * The request-body parser: RFC 8259 JSON with duplicate member names refused (RFC 6749 §3.2 asks
 * the same of OAuth parameters), held to `JSON.parse` on every text that has no duplicate.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DuplicateMemberNameError, parseStrictJson, StrictJsonError } from '../../../lambdas/core/strict-json.ts';

describe('strict JSON', () => {
  it('rejects a duplicate member at any depth', () => {
    expect(() => parseStrictJson('{"a":{"b":1,"b":2}}')).toThrow(StrictJsonError);
    expect(() => parseStrictJson('[{"x":1},{"y":1,"y":1}]')).toThrow(StrictJsonError);
  });
  it('counts colons inside strings correctly (no false duplicate)', () => {
    expect(parseStrictJson('{"a:b":"c:d","e":"\\\\\\":"}')).toEqual({ 'a:b': 'c:d', e: '\\":' });
    expect(parseStrictJson('{"x\\" :":1, "y" :\t"\\" : "}')).toEqual({ 'x" :': 1, y: '" : ' });
    expect(() => parseStrictJson('{"a\\\\" :1,"a\\\\"\n:2}')).toThrow(StrictJsonError);
  });
  it('keeps __proto__ as an own member and never touches the prototype', () => {
    const value = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('rejects a BOM, trailing garbage and lone surrogates', () => {
    for (const text of ['\ufeff{}', '{}x', '{"a":"\\ud800"}', '{"a":"\\udc00x"}']) expect(() => parseStrictJson(text)).toThrow(StrictJsonError);
  });
  it('accepts a well-formed surrogate pair escape', () => expect(parseStrictJson('{"a":"\\ud83d\\ude00"}')).toEqual({ a: '😀' }));
  it('rejects nesting deeper than the cap', () => expect(() => parseStrictJson('['.repeat(40) + ']'.repeat(40))).toThrow(StrictJsonError));

  const outcome = (f: () => unknown): string => {
    try {
      return JSON.stringify(f());
    } catch (e) {
      if (e instanceof DuplicateMemberNameError) return 'duplicate';
      if (e instanceof StrictJsonError || e instanceof SyntaxError) return 'reject';
      throw e;
    }
  };

  // Names and values chosen to look like separators from inside a string: a trailing backslash,
  // an escaped quote before a colon, spaces between quote and colon; and `\u` spellings.
  const tricky = fc.constantFrom('a', 'b', 'a:b', '"', '__proto__', 'a\\', '\\', 'x" :', '" : "', ' : ', 'a\\" :', '\u00e9');
  const ws = fc.constantFrom('', ' ', '  ', '\t', '\n', '\r\n');
  const member = fc.tuple(tricky, fc.oneof(fc.jsonValue({ maxDepth: 3 }), tricky), ws, ws);
  const spell = (name: string, escaped: boolean): string =>
    escaped ? `"${[...name].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"` : JSON.stringify(name);
  const objectText = fc
    .array(fc.tuple(member, fc.boolean()), { maxLength: 5 })
    .map((members) => ({
      text: `{${members.map(([[k, v, before, after], esc]) => `${spell(k, esc)}${before}:${after}${JSON.stringify(v)}`).join(',')}}`,
      duplicate: new Set(members.map(([[k]]) => k)).size !== members.length,
    }));

  it('agrees with JSON.parse on every text without a duplicate name, and refuses exactly the texts with one', () => {
    fc.assert(
      fc.property(objectText, ({ text, duplicate }) => {
        expect(outcome(() => parseStrictJson(text))).toBe(duplicate ? 'duplicate' : outcome(() => JSON.parse(text)));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with JSON.parse on arbitrary JSON values and arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 6 }), fc.string()), (text) => {
        expect(outcome(() => parseStrictJson(text))).toBe(outcome(() => JSON.parse(text)));
      }),
      { numRuns: 3000 },
    );
  });
});
