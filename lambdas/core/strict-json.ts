/**
 * A strict, duplicate-aware JSON parser for request bodies (every handler reads them through
 * `lambdas/http/request.ts`) and the operator CLI's state file. Hand-written because no
 * maintained JSON library refuses duplicate member names: `JSON.parse` (and every library built
 * on it) silently keeps the last of two members with the same name. Access tokens are not parsed
 * here: `jose` parses them, and RFC 7515 §4 / RFC 7519 §4 allow "last member wins" for JOSE.
 *
 * Request bodies name each member once (as RFC 6749 §3.2 asks of OAuth parameters): `{"username":"a","username":"b"}` means "a" to a
 * log line, proxy or WAF that keeps the first member and "b" to `JSON.parse` (RFC 8259 §4: names
 * "SHOULD be unique", and behaviour otherwise is unpredictable). Names are compared after
 * unescaping, so `"user\u006eame"` and `"username"` are the same name.
 *
 * The parser also rejects what RFC 8259 rejects (trailing garbage, a BOM, control characters in
 * strings) and lone UTF-16 surrogates produced by `\u` escapes (RFC 8259 §8.2),
 * and it caps nesting depth so a deeply nested input cannot exhaust the stack.
 *
 * Member names such as `__proto__` end up as plain own properties and never touch
 * `Object.prototype` (the parser builds null-prototype objects). The result is `unknown`: callers narrow it.
 */

export class StrictJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

/** Two members with the same name (after unescaping) in one object, at any depth. */
export class DuplicateMemberNameError extends StrictJsonError {
  constructor() {
    super('duplicate member name');
    this.name = 'DuplicateMemberNameError';
  }
}

const DEFAULT_MAX_DEPTH = 16;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Parses `text` as one JSON value (RFC 8259), rejecting duplicate member names: a recursive
 * descent with duplicate detection. Bodies are capped in size before they get here
 * (`lambdas/http/request.ts`), so speed is not a concern; a property test holds it to
 * `JSON.parse` on every text without duplicates.
 */
export function parseStrictJson(text: string, maxDepth: number = DEFAULT_MAX_DEPTH): unknown {
  const parser = new Parser(text, maxDepth);
  parser.skipWhitespace();
  const value = parser.parseValue(0);
  parser.skipWhitespace();
  if (parser.pos !== text.length) throw new StrictJsonError('trailing characters');
  return value;
}

class Parser {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      // RFC 8259 §2: insignificant whitespace is exactly space, tab, LF, CR.
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
    this.pos = pos;
  }

  parseValue(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.parseObject(depth + 1);
      case 0x5b /* [ */:
        return this.parseArray(depth + 1);
      case 0x22 /* " */:
        return this.parseString();
      case 0x74 /* t */:
        return this.parseLiteral('true', true);
      case 0x66 /* f */:
        return this.parseLiteral('false', false);
      case 0x6e /* n */:
        return this.parseLiteral('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.parseNumber();
        throw new StrictJsonError('unexpected character');
    }
  }

  private parseObject(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) throw new StrictJsonError('nested too deeply');
    const result: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    this.pos++; // {
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos++;
      return result;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) throw new StrictJsonError('expected a member name');
      const name = this.parseString();
      // RFC 7515 §4 / RFC 7519 §4: duplicate member names are rejected, never "last one wins".
      if (name in result) throw new DuplicateMemberNameError();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) throw new StrictJsonError('expected ":"');
      this.pos++;
      this.skipWhitespace();
      result[name] = this.parseValue(depth);
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos);
      this.pos++;
      if (next === 0x7d /* } */) return result;
      if (next !== 0x2c /* , */) throw new StrictJsonError('expected "," or "}"');
      this.skipWhitespace();
    }
  }

  private parseArray(depth: number): unknown[] {
    if (depth > this.maxDepth) throw new StrictJsonError('nested too deeply');
    const result: unknown[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.parseValue(depth));
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos);
      this.pos++;
      if (next === 0x5d /* ] */) return result;
      if (next !== 0x2c /* , */) throw new StrictJsonError('expected "," or "]"');
      this.skipWhitespace();
    }
  }

  private parseString(): string {
    const text = this.text;
    const start = this.pos + 1;
    let pos = start;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x22 /* " */) break;
      if (c === 0x5c /* \ */) {
        escaped = true;
        pos += 2;
        continue;
      }
      // NaN (end of input) or an unescaped control character (RFC 8259 §7).
      if (!(c >= 0x20)) throw new StrictJsonError('unterminated string or control character');
      pos++;
    }
    this.pos = pos + 1;
    if (!escaped) return text.slice(start, pos);
    // Only for strings with escapes: let the engine decode the escapes of this one
    // literal (its grammar is already bounded by the scan above), then refuse lone surrogates.
    let decoded: unknown;
    try {
      decoded = JSON.parse(text.slice(start - 1, pos + 1));
    } catch {
      throw new StrictJsonError('invalid escape');
    }
    if (typeof decoded !== 'string') throw new StrictJsonError('invalid string');
    if (LONE_SURROGATE.test(decoded)) throw new StrictJsonError('lone surrogate');
    return decoded;
  }

  private parseNumber(): number {
    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    const text = this.text;
    const start = this.pos;
    let pos = start;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    const first = text.charCodeAt(pos);
    if (first === 0x30) pos++;
    else if (first >= 0x31 && first <= 0x39) pos = skipDigits(text, pos);
    else throw new StrictJsonError('invalid number');
    if (text.charCodeAt(pos) === 0x2e /* . */) {
      const after = skipDigits(text, pos + 1);
      if (after === pos + 1) throw new StrictJsonError('invalid number');
      pos = after;
    }
    const e = text.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = text.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      const after = skipDigits(text, pos);
      if (after === pos) throw new StrictJsonError('invalid number');
      pos = after;
    }
    this.pos = pos;
    return Number(text.slice(start, pos));
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) throw new StrictJsonError('invalid literal');
    this.pos += word.length;
    return value;
  }
}

function skipDigits(text: string, from: number): number {
  let pos = from;
  for (;;) {
    const c = text.charCodeAt(pos);
    if (c >= 0x30 && c <= 0x39) pos++;
    else return pos;
  }
}
