/**
 * The access-token model shared by the issuer (login, refresh) and the verifiers (authorizer,
 * revoke). An access token is a compact JWS following RFC 9068 (JWT Profile for OAuth 2.0 Access
 * Tokens): header `typ: "at+jwt"` (§2.1), `alg` from our allow-list, `kid` = the RFC 7638 thumbprint
 * of the KMS public key.
 */

/** Signing algorithms the service can issue with: RFC 7518 §3.4 (ES256) and §3.3 (RS256). */
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * RS256 from a KMS `RSA_2048` key unless configured otherwise: its KMS `Sign` requests are priced
 * below ECC ones (https://aws.amazon.com/kms/pricing/), an RSA-2048 verification costs the
 * authorizer less CPU than a P-256 one, and every JWT library and API Gateway's JWT authorizer
 * accept it. ES256 (`ECC_NIST_P256`) gives smaller tokens.
 */
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'RS256';

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

/** RFC 9068 §2.1: access tokens carry `typ: "at+jwt"`. */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/**
 * RFC 9068 §2.2 claims, plus `sid` (the refresh-token family, OpenID Connect Front-Channel Logout
 * §3 uses the same name) and `auth_time` (RFC 9068 §2.2.1: when the user authenticated, i.e. when
 * the family started; the denylist compares it with a user's logout-everywhere time).
 */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly iat: number;
  readonly jti: string;
  readonly client_id: string;
  readonly scope: string;
  readonly sid: string;
  readonly auth_time: number;
  /**
   * RFC 8176 authentication method references of the login that started the session. Every token
   * this issuer signs carries it; optional here because verifiers may meet older tokens without.
   */
  readonly amr?: readonly string[];
}

/**
 * The one revocation item of a user (see README "Table design" and core/denylist-policy.ts):
 * pk `DENY#SUB#<sub>`, sk `DENY`. The key of the earlier logout-everywhere item, so those items
 * keep applying after an upgrade.
 */
export const revocationKey = (sub: string): string => `DENY#SUB#${sub}`;
export const DENYLIST_SK = 'DENY';
