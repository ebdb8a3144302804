/**
 * The authorizer's settings, parsed once per container and by the CDK construct at synth: a
 * misconfigured authorizer must fail loudly (ConfigurationError), never fall back to something
 * permissive.
 */
import { DEFAULT_MAX_TOKEN_LENGTH } from '../core/access-token-verifier.ts';
import type { VerificationPolicy } from '../core/access-token-verifier.ts';
import { ConfigurationError } from '../core/errors.ts';
import { parseRouteRequirements } from '../core/route-requirements.ts';
import type { RouteTable } from '../core/route-requirements.ts';
import { ACCESS_TOKEN_TYP, isSigningAlgorithm } from '../core/token-model.ts';
import { additionalVerifyKeyIds, commaList, issuerUrl, oneOf, optionalInteger, requireString, type EnvRecord } from './env.ts';
import type { SigningAlgorithm } from '../core/token-model.ts';

export type AuthorizerResponseMode = 'simple' | 'iam';

export interface AuthorizerConfig {
  readonly tableName: string;
  readonly policy: VerificationPolicy;
  /** Exactly one of these is used: the deploy-time JWKS wins, KMS is then never called. */
  readonly publicJwks: string | undefined;
  readonly verifyKeyIds: readonly string[];
  /** Keys trusted from elsewhere: they verify before and after rotations alike. */
  readonly additionalVerifyKeyIds: readonly string[];
  /**
   * `ROUTE_SCOPES`: what routes of every API require (scopes, `mfa`, `maxAuthAgeSeconds`). Each
   * API can add its own in stage variables (core/route-requirements-codec.ts).
   */
  readonly routeRequirements: RouteTable;
  /** HTTP API payload 2.0 only: simple `{isAuthorized}` or an IAM policy. REST always gets IAM. */
  readonly responseMode: AuthorizerResponseMode;
  /** 0 = off (default). See `CachedDenylistReader` for the staleness this buys. */
  readonly denylistCacheSeconds: number;
}

export function parseAuthorizerConfig(env: EnvRecord): AuthorizerConfig {
  const algorithms = requireString(env, 'SIGNING_ALG')
    .split(',')
    .map((alg) => alg.trim());
  if (algorithms.length === 0 || !algorithms.every(isSigningAlgorithm)) {
    throw new ConfigurationError('SIGNING_ALG must be ES256, RS256 or a comma list of them');
  }
  const publicJwks = env.PUBLIC_JWKS?.trim() ? env.PUBLIC_JWKS : undefined;
  const verifyKeyIds = commaList(env, 'VERIFY_KEY_IDS');
  if (publicJwks === undefined && verifyKeyIds.length === 0) {
    throw new ConfigurationError('set VERIFY_KEY_IDS (KMS key ids/ARNs) or PUBLIC_JWKS');
  }
  let routeScopesJson: unknown = {};
  const routeScopesText = env.ROUTE_SCOPES?.trim();
  if (routeScopesText) {
    // Written by the CDK construct with JSON.stringify, which cannot repeat a route; a repeated
    // route in a hand-set value would be read as its last occurrence (RFC 8259 §4, ECMA-262 JSON.parse).
    try {
      routeScopesJson = JSON.parse(routeScopesText);
    } catch {
      throw new ConfigurationError('ROUTE_SCOPES is not valid JSON');
    }
  }
  return {
    tableName: requireString(env, 'TABLE_NAME'),
    policy: {
      algorithms: [...new Set(algorithms as SigningAlgorithm[])],
      issuer: issuerUrl(env),
      audience: requireString(env, 'AUDIENCE'),
      typ: ACCESS_TOKEN_TYP,
      // RFC 7519 §4.1.4-4.1.6: "some small leeway, usually no more than a few minutes, to account
      // for clock skew"; 5 minutes is the most we let anyone configure.
      clockSkewSeconds: optionalInteger(env, 'CLOCK_SKEW_SECONDS', 60, 0, 300),
      expiryLeewaySeconds: 0,
      maxTokenLength: DEFAULT_MAX_TOKEN_LENGTH,
    },
    publicJwks,
    verifyKeyIds,
    additionalVerifyKeyIds: additionalVerifyKeyIds(env),
    routeRequirements: parseRouteRequirements(routeScopesJson),
    responseMode: oneOf(env, 'AUTHORIZER_RESPONSE', ['simple', 'iam'] as const, 'simple'),
    denylistCacheSeconds: optionalInteger(env, 'DENYLIST_CACHE_SECONDS', 0, 0, 300),
  };
}
