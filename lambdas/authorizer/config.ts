/**
 * The authorizer's configuration, read from the environment once per container and validated
 * up front: a misconfigured authorizer must fail loudly (ConfigurationError), never fall back to
 * something permissive.
 */
import { DEFAULT_MAX_TOKEN_LENGTH } from '../core/access-token-verifier.ts';
import type { VerificationPolicy } from '../core/access-token-verifier.ts';
import { ConfigurationError } from '../core/errors.ts';
import { parseRouteScopes } from '../core/route-scopes.ts';
import type { RouteScopeTable } from '../core/route-scopes.ts';
import { ACCESS_TOKEN_TYP, isSigningAlgorithm } from '../core/token-model.ts';
import type { SigningAlgorithm } from '../core/token-model.ts';

export type AuthorizerResponseMode = 'simple' | 'iam';

export interface AuthorizerConfig {
  readonly tableName: string;
  readonly policy: VerificationPolicy;
  /** Exactly one of these is used: the deploy-time JWKS wins, KMS is then never called. */
  readonly publicJwks: string | undefined;
  readonly verifyKeyIds: readonly string[];
  readonly routeScopes: RouteScopeTable;
  /** HTTP API payload 2.0 only: simple `{isAuthorized}` or an IAM policy. REST always gets IAM. */
  readonly responseMode: AuthorizerResponseMode;
  /** 0 = off (default). See `CachedDenylistReader` for the staleness this buys. */
  readonly denylistCacheSeconds: number;
}

type Env = Readonly<Record<string, string | undefined>>;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (value === undefined || value === '') throw new ConfigurationError(`${name} must be set`);
  return value;
}

function integer(env: Env, name: string, fallback: number, max: number): number {
  const text = env[name]?.trim();
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text) || Number(text) > max) throw new ConfigurationError(`${name} must be an integer 0-${max}`);
  return Number(text);
}

export function readAuthorizerConfig(env: Env): AuthorizerConfig {
  const algorithms = required(env, 'SIGNING_ALG')
    .split(',')
    .map((alg) => alg.trim());
  if (algorithms.length === 0 || !algorithms.every(isSigningAlgorithm)) {
    throw new ConfigurationError('SIGNING_ALG must be ES256, RS256 or a comma list of them');
  }
  const publicJwks = env.PUBLIC_JWKS?.trim() ? env.PUBLIC_JWKS : undefined;
  const verifyKeyIds = (env.VERIFY_KEY_IDS ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id.length > 0);
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
  const responseMode = env.AUTHORIZER_RESPONSE?.trim() || 'simple';
  if (responseMode !== 'simple' && responseMode !== 'iam') {
    throw new ConfigurationError('AUTHORIZER_RESPONSE must be "simple" or "iam"');
  }
  return {
    tableName: required(env, 'TABLE_NAME'),
    policy: {
      algorithms: [...new Set(algorithms as SigningAlgorithm[])],
      issuer: required(env, 'ISSUER'),
      audience: required(env, 'AUDIENCE'),
      typ: ACCESS_TOKEN_TYP,
      // RFC 7519 §4.1.4-4.1.6: "some small leeway, usually no more than a few minutes, to account
      // for clock skew"; 5 minutes is the most we let anyone configure.
      clockSkewSeconds: integer(env, 'CLOCK_SKEW_SECONDS', 60, 300),
      expiryLeewaySeconds: 0,
      maxTokenLength: DEFAULT_MAX_TOKEN_LENGTH,
    },
    publicJwks,
    verifyKeyIds,
    routeScopes: parseRouteScopes(routeScopesJson),
    responseMode,
    denylistCacheSeconds: integer(env, 'DENYLIST_CACHE_SECONDS', 0, 300),
  };
}
