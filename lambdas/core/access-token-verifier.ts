/**
 * Access-token verification: a compact JWS (RFC 7515) carrying a JWT (RFC 7519) profiled by
 * RFC 9068, checked against an explicit `VerificationPolicy` and a `KeyLookup`. Pure: node:crypto
 * and the clock value passed in, nothing else. Throws `InvalidTokenError` with a short reason that
 * never contains the token.
 *
 * Order of checks (cheap and input-independent first, RFC 8725 §3.1-3.12):
 *  1. length cap, BEFORE any split or decode (an oversized token costs nothing);
 *  2. shape: exactly three base64url segments, header and signature non-empty (RFC 7515 §7.1);
 *  3. canonical base64url per segment (RFC 7515 §2, RFC 4648 §3.5: one token, one spelling);
 *  4. header: valid UTF-8 (RFC 7515 §5.2 step 3), duplicate-free JSON object, only the members
 *     our issuer emits (`alg`, `typ`, `kid`), so `jwk`/`jku`/`x5u`/`x5c`/`x5t`/`x5t#S256`
 *     (RFC 8725 §3.10), `crit` (RFC 7515 §4.1.11), `b64` (RFC 7797) and `cty` (nested JWTs,
 *     RFC 7519 §5.2) are all refused; `alg` a string in the allow-list; `typ` exactly `at+jwt`;
 *  5. key by `kid` from a `Map`; the KEY decides the algorithm and `alg` must equal it;
 *  6. signature: exact length, scalars in [1, n), then `crypto.verify`;
 *  7. claims (RFC 7519 §4.1, RFC 9068 §2.2), only after the signature holds.
 */
import { verify } from 'node:crypto';
import { InvalidTokenError } from './errors.ts';
import { parseStrictJson, StrictJsonError } from './strict-json.ts';
import { decodeUtf8Strict } from './utf8.ts';
import type { AccessTokenClaims, SigningAlgorithm } from './token-model.ts';
import type { KeyLookup, VerificationKey } from './verification-key.ts';

export type { KeyLookup, VerificationKey } from './verification-key.ts';

export interface VerificationPolicy {
  /** Allowed algorithms, e.g. `['ES256'] as const`. A token's `alg` must be listed AND match its key. */
  readonly algorithms: readonly SigningAlgorithm[];
  /** RFC 7519 §4.1.1: compared exactly (case-sensitive, no trailing-slash folding). */
  readonly issuer: string;
  /** RFC 7519 §4.1.3: our audience must be `aud` or one of its elements. */
  readonly audience: string;
  /**
   * RFC 9068 §2.1 / RFC 8725 §3.11: the `typ` header. Compared byte for byte: our issuer always
   * writes `at+jwt`, so the other spellings RFC 7515 §4.1.9 would allow (`AT+JWT`,
   * `application/at+jwt`) add nothing but more ways to spell one token.
   */
  readonly typ: string;
  /** Leeway for `nbf` and `iat` in seconds: how far the issuer's clock may run ahead of ours. */
  readonly clockSkewSeconds: number;
  /**
   * Leeway after `exp` in seconds. RFC 7519 §4.1.4 allows "some small leeway"; we default to 0
   * because a just-expired token costs the client one refresh, while accepting it extends the
   * life of a stolen one.
   */
  readonly expiryLeewaySeconds: number;
  /** Hard cap on the compact serialization, in characters, checked before anything else. */
  readonly maxTokenLength: number;
}

/** A cap comfortably above our ~700-character tokens and far below anything costly to scan. */
export const DEFAULT_MAX_TOKEN_LENGTH = 4096;

/** Unknown `kid`: the caller may reload its keys (at most once per cooldown) and try again. */
export class UnknownKeyIdError extends InvalidTokenError {
  constructor() {
    super('unknown key');
  }
}

/**
 * Three base64url segments and nothing else (RFC 7515 §7.1, §2): header and signature non-empty;
 * the payload may be empty at the JWS layer (RFC 7515 allows it) but never parses as claims.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;

/** 6-bit value of each base64url character (RFC 4648 §5), -1 elsewhere. */
const BASE64URL_VALUE = new Int8Array(128).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].entries()) {
  BASE64URL_VALUE[c.charCodeAt(0)] = i;
}

/**
 * Canonical spelling of one segment that COMPACT_JWS already proved to be in the base64url
 * alphabet; the same rule as `decodeCanonical` in `base64url.ts`, computed without a re-encode:
 * the length is not 1 mod 4, and the unused low bits of the last character are zero
 * (RFC 4648 §3.5).
 */
function assertCanonical(text: string, start: number, end: number): void {
  const remainder = (end - start) & 3;
  if (remainder === 1) throw new InvalidTokenError('malformed token');
  if (remainder !== 0) {
    const last = BASE64URL_VALUE[text.charCodeAt(end - 1)] ?? -1;
    // 2 trailing chars carry 12 bits for 8 (4 unused); 3 chars carry 18 bits for 16 (2 unused).
    if ((last & (remainder === 2 ? 0x0f : 0x03)) !== 0) throw new InvalidTokenError('malformed token');
  }
}

/** Decodes one canonical segment into a new buffer. */
function decodeSegment(text: string, start: number, end: number): Buffer {
  assertCanonical(text, start, end);
  return Buffer.from(start === 0 && end === text.length ? text : text.slice(start, end), 'base64url');
}

/** `decodeSegment` into a caller-owned buffer (at least as long as the segment). */
function decodeSegmentInto(text: string, start: number, end: number, into: Buffer): Buffer {
  assertCanonical(text, start, end);
  return into.subarray(0, into.write(text.slice(start, end), 0, 'base64url'));
}

/** RFC 7515 §5.2 step 3 / RFC 8259 §8.1: the header and payload are UTF-8 JSON objects. */
function parseJsonObject(bytes: Buffer): Record<string, unknown> {
  const text = decodeUtf8Strict(bytes);
  if (text === undefined) throw new InvalidTokenError('malformed token');
  let value: unknown;
  try {
    value = parseStrictJson(text);
  } catch (error) {
    if (error instanceof StrictJsonError) throw new InvalidTokenError('malformed token');
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidTokenError('malformed token');
  }
  return value as Record<string, unknown>;
}

/** Header members our issuer writes; anything else (jwk, jku, x5*, crit, b64, cty, ...) is refused. */
const ALLOWED_HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid']);
/** RFC 7638 SHA-256 thumbprints are 43 characters; a little room, no more. */
const MAX_KID_LENGTH = 128;

/** Scalars (ECDSA r, s; RSA s) must lie in [1, bound): CVE-2022-21449, RFC 8017 §5.2.2 step 1. */
function scalarInRange(signature: Buffer, start: number, length: number, bound: Buffer): boolean {
  const end = start + length;
  let nonZero = false;
  for (let i = start; i < end; i++) {
    if (signature[i] !== 0) {
      nonZero = true;
      break;
    }
  }
  return nonZero && signature.compare(bound, 0, bound.length, start, end) < 0;
}

/**
 * The signature step alone (RFC 7515 §5.2 step 8, RFC 7518 §3.3-3.4), for a key the caller has
 * already matched to the token's `alg`. Length and scalar range are checked before crypto.
 */
export function verifySignature(key: VerificationKey, signingInput: Buffer, signature: Buffer): boolean {
  if (signature.length !== key.signatureLength) return false;
  if (key.alg === 'ES256') {
    // RFC 7518 §3.4: R and S are each 32 bytes, big-endian; both must be in [1, n-1].
    if (!scalarInRange(signature, 0, 32, key.scalarBound) || !scalarInRange(signature, 32, 32, key.scalarBound)) {
      return false;
    }
  } else if (!scalarInRange(signature, 0, signature.length, key.scalarBound)) {
    return false;
  }
  return verify('sha256', signingInput, key.verifyInput, signature);
}

interface ParsedHeader {
  readonly key: VerificationKey;
}

/**
 * Headers are identical for every token one key signs, so a validated header segment is
 * remembered (bounded) with its key. Only headers that passed every check and resolved to a key
 * are stored; the cache is cleared, never grown, past its bound.
 */
const HEADER_CACHE_LIMIT = 64;


/** Steps 1-2: cap, then shape. Returns the two dot positions. */
function splitCompact(token: unknown, maxLength: number): { token: string; firstDot: number; secondDot: number } {
  if (typeof token !== 'string') throw new InvalidTokenError('missing token');
  if (token.length > maxLength) throw new InvalidTokenError('token too long');
  if (!COMPACT_JWS.test(token)) throw new InvalidTokenError('malformed token');
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  return { token, firstDot, secondDot };
}

/**
 * A verifier bound to one policy and one key lookup, with its own header cache. Use this on the
 * hot path; `verifyAccessToken` is the same check without the cache.
 */
export class AccessTokenVerifier {
  private readonly headerCache = new Map<string, ParsedHeader>();

  constructor(
    private readonly policy: VerificationPolicy,
    private keys: KeyLookup,
  ) {}

  /** Replaces the key set (after a reload) and forgets headers resolved against the old one. */
  setKeys(keys: KeyLookup): void {
    this.keys = keys;
    this.headerCache.clear();
  }

  verify(token: unknown, nowSeconds: number): AccessTokenClaims {
    const policy = this.policy;
    const { token: text, firstDot, secondDot } = splitCompact(token, policy.maxTokenLength);
    const headerSegment = text.slice(0, firstDot);
    let header = this.headerCache.get(headerSegment);
    if (header === undefined) {
      header = { key: checkHeader(decodeSegment(text, 0, firstDot), policy, this.keys) };
      if (this.headerCache.size >= HEADER_CACHE_LIMIT) this.headerCache.clear();
      this.headerCache.set(headerSegment, header);
    }
    // Hot path without allocations: decode into this verifier's scratch buffers. Safe because
    // everything below is synchronous and nothing keeps a reference to them.
    const scratch = this.scratchFor(text.length);
    const signature = decodeSegmentInto(text, secondDot + 1, text.length, scratch.signature);
    const payloadBytes = decodeSegmentInto(text, firstDot + 1, secondDot, scratch.payload);
    const signingInput = scratch.signingInput.subarray(0, scratch.signingInput.write(text, 0, secondDot, 'latin1'));
    if (!verifySignature(header.key, signingInput, signature)) throw new InvalidTokenError('invalid signature');
    return checkClaims(parseJsonObject(payloadBytes), policy, nowSeconds);
  }

  private scratch: { signature: Buffer; payload: Buffer; signingInput: Buffer; size: number } | undefined;

  private scratchFor(length: number): { signature: Buffer; payload: Buffer; signingInput: Buffer } {
    if (this.scratch === undefined || this.scratch.size < length) {
      this.scratch = {
        signature: Buffer.allocUnsafeSlow(length),
        payload: Buffer.allocUnsafeSlow(length),
        signingInput: Buffer.allocUnsafeSlow(length),
        size: length,
      };
    }
    return this.scratch;
  }
}

/**
 * Verifies `token` and returns its claims, or throws `InvalidTokenError`.
 * `keys` is a `Map` from kid to key; `nowSeconds` is the verifier's clock (epoch seconds).
 */
export function verifyAccessToken(
  token: unknown,
  policy: VerificationPolicy,
  keys: KeyLookup,
  nowSeconds: number,
): AccessTokenClaims {
  return new AccessTokenVerifier(policy, keys).verify(token, nowSeconds);
}

/** Step 4-5: header members, `alg`, `typ`, `kid`, key lookup and alg/key agreement. */
function checkHeader(headerBytes: Buffer, policy: VerificationPolicy, keys: KeyLookup): VerificationKey {
  const header = parseJsonObject(headerBytes);
  for (const name in header) {
    if (!ALLOWED_HEADER_MEMBERS.has(name)) throw new InvalidTokenError('unsupported header parameter');
  }
  const { alg, typ, kid } = header;
  // RFC 7515 §4.1.1: alg is REQUIRED and a case-sensitive string; RFC 8725 §3.1: allow-list.
  if (typeof alg !== 'string' || !(policy.algorithms as readonly string[]).includes(alg)) {
    throw new InvalidTokenError('algorithm not allowed');
  }
  // RFC 9068 §2.1, §4: typ MUST be at+jwt, which keeps other JWTs (ID tokens, ...) out.
  if (typ !== policy.typ) throw new InvalidTokenError('wrong token type');
  // RFC 7515 §4.1.4: kid is a string; our keys are found by it, never by header-supplied material.
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) {
    throw new InvalidTokenError('malformed key id');
  }
  const key = keys.get(kid);
  if (key === undefined) throw new UnknownKeyIdError();
  // RFC 8725 §3.1: the key decides the algorithm; a header that asks for another one is refused.
  if (key.alg !== alg) throw new InvalidTokenError('algorithm does not match key');
  return key;
}

/**
 * RFC 7519 §2 NumericDate: a JSON number of seconds. We also require it to be non-negative and
 * a safe integer range value, so `1e308`, `-1` and `2^53+1` are refused, as are strings.
 */
function numericDate(claims: Record<string, unknown>, name: string): number {
  const value = claims[name];
  if (typeof value !== 'number' || !(value >= 0 && value <= Number.MAX_SAFE_INTEGER)) {
    throw new InvalidTokenError(`invalid ${name} claim`);
  }
  return value;
}

function requiredString(claims: Record<string, unknown>, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value.length === 0) throw new InvalidTokenError(`invalid ${name} claim`);
  return value;
}

/** Step 7: RFC 7519 §4.1 and RFC 9068 §2.2 (iss, exp, aud, sub, client_id, iat, jti REQUIRED). */
function checkClaims(claims: Record<string, unknown>, policy: VerificationPolicy, now: number): AccessTokenClaims {
  // RFC 7519 §4.1.1: iss compared as a case-sensitive string.
  if (claims.iss !== policy.issuer) throw new InvalidTokenError('wrong issuer');
  // RFC 7519 §4.1.3: aud is a string or an array of strings; ours must be among them.
  const aud = claims.aud;
  if (aud !== policy.audience) {
    if (!Array.isArray(aud) || !aud.every((a) => typeof a === 'string') || !aud.includes(policy.audience)) {
      throw new InvalidTokenError('wrong audience');
    }
  }
  // RFC 7519 §4.1.4: now MUST be before exp (plus the configured leeway, default none).
  const exp = numericDate(claims, 'exp');
  if (now >= exp + policy.expiryLeewaySeconds) throw new InvalidTokenError('token expired');
  // RFC 7519 §4.1.5: not before nbf, with leeway for the issuer's clock.
  if (claims.nbf !== undefined && numericDate(claims, 'nbf') > now + policy.clockSkewSeconds) {
    throw new InvalidTokenError('token not yet valid');
  }
  // RFC 7519 §4.1.6 / RFC 9068 §2.2: iat REQUIRED; a token issued in the future is refused.
  const iat = numericDate(claims, 'iat');
  if (iat > now + policy.clockSkewSeconds) throw new InvalidTokenError('token issued in the future');
  // RFC 9068 §2.2.1: auth_time; the user-wide denylist compares it with a logout time.
  const authTime = numericDate(claims, 'auth_time');
  if (authTime > iat) throw new InvalidTokenError('invalid auth_time claim');
  // RFC 9068 §2.2.3: scope is a space-delimited string (RFC 6749 §3.3); our issuer always sets it.
  const scope = claims.scope;
  if (typeof scope !== 'string') throw new InvalidTokenError('invalid scope claim');
  return {
    iss: policy.issuer,
    sub: requiredString(claims, 'sub'),
    aud: policy.audience,
    exp,
    iat,
    jti: requiredString(claims, 'jti'),
    client_id: requiredString(claims, 'client_id'),
    scope,
    sid: requiredString(claims, 'sid'),
    auth_time: authTime,
  };
}

/**
 * The signature layer alone, for conformance vectors (Wycheproof JWS, RFC 7515/7520 examples):
 * cap, shape, canonical base64url, a duplicate-free header whose `alg` is allowed and equals the
 * key's, no `crit`/`b64`/header keys, then the signature. No `typ`, `kid` or claim checks.
 */
export function verifyCompactSignature(
  token: unknown,
  key: VerificationKey,
  algorithms: readonly SigningAlgorithm[],
  maxLength: number = DEFAULT_MAX_TOKEN_LENGTH,
): boolean {
  try {
    const { token: text, firstDot, secondDot } = splitCompact(token, maxLength);
    const header = parseJsonObject(decodeSegment(text, 0, firstDot));
    for (const name of FORBIDDEN_SIGNATURE_LAYER_MEMBERS) {
      if (name in header) return false;
    }
    const alg = header.alg;
    if (typeof alg !== 'string' || !(algorithms as readonly string[]).includes(alg) || alg !== key.alg) return false;
    assertCanonical(text, firstDot + 1, secondDot);
    const signature = decodeSegment(text, secondDot + 1, text.length);
    return verifySignature(key, Buffer.from(text.slice(0, secondDot), 'latin1'), signature);
  } catch (error) {
    if (error instanceof InvalidTokenError) return false;
    throw error;
  }
}

const FORBIDDEN_SIGNATURE_LAYER_MEMBERS = ['jwk', 'jku', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit', 'b64'] as const;
