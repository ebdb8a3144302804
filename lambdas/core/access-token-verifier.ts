/**
 * Access-token verification: a compact JWS (RFC 7515) carrying a JWT (RFC 7519) profiled by
 * RFC 9068, verified by `jose` against an explicit `VerificationPolicy` and a `KeyLookup`. Throws
 * `InvalidTokenError` with a short reason that never contains the token.
 *
 * What jose does (`jwtVerify`): splits and base64url-decodes the token, parses header and claims
 * as UTF-8 JSON objects (fatal UTF-8 decoding; duplicate names: the last one wins, as RFC 7515 §4
 * and RFC 7519 §4 allow), refuses any `crit` it does not understand (RFC 7515 §4.1.11), refuses an
 * `alg` outside `algorithms` BEFORE any key is chosen (RFC 8725 §3.1), verifies the signature
 * with the key our resolver returns, then checks `typ` (RFC 8725 §3.11, RFC 9068 §4), `iss`,
 * `aud`, the presence of every required claim, `exp` and `nbf` (with `clockTolerance`).
 *
 * What is ours, as policy:
 *  1. a length cap and the compact shape (three base64url segments, nothing else: RFC 7515
 *     §7.1, §2), before anything is decoded;
 *  2. the key resolver: only the members our issuer writes (`alg`, `typ`, `kid`) may appear in
 *     the header, so `jwk`, `jku`, `x5u`, `x5c`, `x5t` (RFC 8725 §3.10), `b64` (RFC 7797) and
 *     `cty` (nested JWTs) are refused, never followed; the key is found by `kid` in a `Map` of
 *     keys WE loaded; the KEY decides the algorithm and the header's `alg` must equal it;
 *  3. after jose: no leeway on `exp` (see `expiryLeewaySeconds`), `iat` not in the future,
 *     NumericDates non-negative safe integers, `auth_time` not after `iat`, and the claim types
 *     RFC 9068 §2.2 requires.
 */
import { errors, jwtVerify } from 'jose';
import type { JWTHeaderParameters, JWTPayload, KeyObject } from 'jose';
import { InvalidTokenError } from './errors.ts';
import type { AccessTokenClaims, SigningAlgorithm } from './token-model.ts';
import type { KeyLookup } from './verification-key.ts';

export type { KeyLookup, VerificationKey } from './verification-key.ts';

export interface VerificationPolicy {
  /** Allowed algorithms, e.g. `['ES256'] as const`. A token's `alg` must be listed AND match its key. */
  readonly algorithms: readonly SigningAlgorithm[];
  /** RFC 7519 §4.1.1: compared exactly (case-sensitive, no trailing-slash folding). */
  readonly issuer: string;
  /** RFC 7519 §4.1.3: our audience must be `aud` or one of its elements. */
  readonly audience: string;
  /**
   * RFC 9068 §2.1 / §4: the `typ` header, `at+jwt`. jose compares media types as RFC 7515
   * §4.1.9 says: case-insensitively and with `application/` implied, so `application/at+jwt`
   * (which RFC 9068 §4 names explicitly) and `AT+JWT` are the same type; any other is refused.
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

/** RFC 9068 §2.2 REQUIRED claims, plus the ones our issuer always sets and the denylist reads. */
export const REQUIRED_CLAIMS = ['iss', 'sub', 'aud', 'exp', 'iat', 'jti', 'client_id', 'scope', 'sid', 'auth_time'] as const;

/** Unknown `kid`: the caller may reload its keys (at most once per cooldown) and try again. */
export class UnknownKeyIdError extends InvalidTokenError {
  constructor() {
    super('unknown key');
  }
}

/**
 * Three base64url segments and nothing else (RFC 7515 §7.1; §2: no padding, no whitespace): header
 * and signature non-empty; the payload may be empty at the JWS layer (RFC 7515 allows it) but
 * never parses as claims.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+$/;

/** Header members our issuer writes; anything else (jwk, jku, x5*, crit, b64, cty, ...) is refused. */
const ALLOWED_HEADER_MEMBERS: ReadonlySet<string> = new Set(['alg', 'typ', 'kid']);
/** RFC 7638 SHA-256 thumbprints are 43 characters; a little room, no more. */
const MAX_KID_LENGTH = 128;

/** The key for a header, from our keys only (RFC 8725 §3.10); the key decides the algorithm (§3.1). */
function keyFor(header: JWTHeaderParameters, keys: KeyLookup): KeyObject {
  for (const name in header) {
    if (!ALLOWED_HEADER_MEMBERS.has(name)) throw new InvalidTokenError('unsupported header parameter');
  }
  const { kid, alg } = header;
  if (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH) throw new InvalidTokenError('malformed key id');
  const key = keys.get(kid);
  if (key === undefined) throw new UnknownKeyIdError();
  if (key.alg !== alg) throw new InvalidTokenError('algorithm does not match key');
  return key.keyObject;
}

/** jose's failures as our short reasons (jose error `code`s are fixed, `src/util/errors.ts`). */
function reasonFor(error: errors.JOSEError): string {
  switch (error.code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not allowed';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'invalid signature';
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'unsupported header parameter';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const { claim, reason } = error as errors.JWTClaimValidationFailed;
      if (claim === 'typ') return 'wrong token type';
      if (claim === 'iss') return 'wrong issuer';
      if (claim === 'aud') return 'wrong audience';
      // reason "missing" or "invalid": absent or of the wrong type; "check_failed": a wrong value.
      if (claim === 'nbf' && reason === 'check_failed') return 'token not yet valid';
      return `invalid ${claim} claim`;
    }
    default:
      return 'malformed token';
  }
}

/**
 * RFC 7519 §2 NumericDate: a JSON number of seconds. We also require it to be non-negative and
 * a safe integer range value, so `1e308`, `-1` and `2^53+1` are refused, as are strings.
 */
function numericDate(claims: JWTPayload, name: string): number {
  const value = claims[name];
  if (typeof value !== 'number' || !(value >= 0 && value <= Number.MAX_SAFE_INTEGER)) {
    throw new InvalidTokenError(`invalid ${name} claim`);
  }
  return value;
}

function requiredString(claims: JWTPayload, name: string): string {
  const value = claims[name];
  if (typeof value !== 'string' || value.length === 0) throw new InvalidTokenError(`invalid ${name} claim`);
  return value;
}

/** What jose leaves to the application (RFC 7519 §4.1.4, §4.1.6; RFC 9068 §2.2). */
function accessTokenClaims(claims: JWTPayload, policy: VerificationPolicy, now: number): AccessTokenClaims {
  const exp = numericDate(claims, 'exp');
  // RFC 7519 §4.1.4: now MUST be before exp (plus our leeway, default none; jose's tolerance is
  // the nbf/iat skew, which we do not grant to exp).
  if (now >= exp + policy.expiryLeewaySeconds) throw new InvalidTokenError('token expired');
  if (claims.nbf !== undefined) numericDate(claims, 'nbf');
  // RFC 9068 §2.2: iat REQUIRED; a token issued in the future (beyond the skew) is refused.
  const iat = numericDate(claims, 'iat');
  if (iat > now + policy.clockSkewSeconds) throw new InvalidTokenError('token issued in the future');
  // RFC 9068 §2.2.1: auth_time; the user-wide denylist compares it with a logout time.
  const authTime = numericDate(claims, 'auth_time');
  if (authTime > iat) throw new InvalidTokenError('invalid auth_time claim');
  // RFC 9068 §2.2.3: scope is a space-delimited string (RFC 6749 §3.3); our issuer always sets it.
  if (typeof claims.scope !== 'string') throw new InvalidTokenError('invalid scope claim');
  return {
    iss: policy.issuer,
    sub: requiredString(claims, 'sub'),
    aud: policy.audience,
    exp,
    iat,
    jti: requiredString(claims, 'jti'),
    client_id: requiredString(claims, 'client_id'),
    scope: claims.scope,
    sid: requiredString(claims, 'sid'),
    auth_time: authTime,
    ...optionalAmr(claims),
  };
}

/**
 * RFC 8176 §1 / RFC 9068 §2.2.1: `amr`, when present, is a JSON array of strings naming the
 * authentication methods used; route rules read it (`mfa`), so anything else is refused.
 */
function optionalAmr(claims: JWTPayload): { amr?: readonly string[] } {
  const amr = claims['amr'];
  if (amr === undefined) return {};
  if (!Array.isArray(amr) || amr.length > 16 || !amr.every((m) => typeof m === 'string' && m.length > 0 && m.length <= 64)) {
    throw new InvalidTokenError('invalid amr claim');
  }
  return { amr: [...(amr as string[])] };
}

/**
 * Step 1, before anything is decoded: a string, at most `maxLength` characters, in the compact
 * shape. Returns the token.
 */
export function assertCompactShape(token: unknown, maxLength: number): string {
  if (typeof token !== 'string') throw new InvalidTokenError('missing token');
  if (token.length > maxLength) throw new InvalidTokenError('token too long');
  if (!COMPACT_JWS.test(token)) throw new InvalidTokenError('malformed token');
  return token;
}

/** A verifier bound to one policy and one key lookup (replaced after a key reload). */
export class AccessTokenVerifier {
  private readonly options;

  constructor(
    private readonly policy: VerificationPolicy,
    private keys: KeyLookup,
  ) {
    this.options = {
      algorithms: [...policy.algorithms],
      typ: policy.typ,
      issuer: policy.issuer,
      audience: policy.audience,
      requiredClaims: [...REQUIRED_CLAIMS],
      clockTolerance: policy.clockSkewSeconds,
    };
  }

  setKeys(keys: KeyLookup): void {
    this.keys = keys;
  }

  /** The claims of a valid token, or `InvalidTokenError`. `nowSeconds` is the verifier's clock. */
  async verify(token: unknown, nowSeconds: number): Promise<AccessTokenClaims> {
    const compact = assertCompactShape(token, this.policy.maxTokenLength);
    const keys = this.keys;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(compact, (header) => keyFor(header, keys), {
        ...this.options,
        currentDate: new Date(nowSeconds * 1000),
      }));
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof errors.JOSEError) throw new InvalidTokenError(reasonFor(error));
      throw error;
    }
    return accessTokenClaims(payload, this.policy, nowSeconds);
  }
}

/** Verifies `token` against `policy` and `keys` once (no verifier kept). */
export function verifyAccessToken(token: unknown, policy: VerificationPolicy, keys: KeyLookup, nowSeconds: number): Promise<AccessTokenClaims> {
  return new AccessTokenVerifier(policy, keys).verify(token, nowSeconds);
}
