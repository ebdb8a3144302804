/**
 * GET /.well-known/jwks.json (RFC 7517 §5) and GET /.well-known/openid-configuration (RFC 8414
 * field names). The keys are the key registry's verifying keys (read per request, public keys from
 * KMS once per container and key), so a rotated-in key is published as soon as it signs and a
 * retired one leaves once its window has passed; both answers are cacheable.
 */
import type { JwksFunctionConfig } from '../config/jwks.ts';
import { NotFoundError } from '../core/errors.ts';
import type { PublishedKeySet } from '../core/ports.ts';
import { createLogger, httpHandler } from '../http/handler.ts';
import { json } from '../http/respond.ts';

/**
 * Five minutes: a client holding a cached JWKS that meets a new kid should fetch again (jose's
 * remote JWK Set does, after its cooldown); a retired key lingers in caches at most this long
 * after it stopped verifying here.
 */
const CACHEABLE = { 'Cache-Control': 'public, max-age=300' };

/** The route: the routeKey, or for a `$default` route the method and path (all `unknown` until narrowed). */
function routeOf(event: { routeKey?: unknown; rawPath?: unknown; requestContext?: unknown }): string {
  if (event.routeKey !== '$default') return typeof event.routeKey === 'string' ? event.routeKey : '';
  const context = event.requestContext;
  const http = typeof context === 'object' && context !== null && 'http' in context ? context.http : undefined;
  const method = typeof http === 'object' && http !== null && 'method' in http ? http.method : undefined;
  return typeof method === 'string' && typeof event.rawPath === 'string' ? `${method} ${event.rawPath}` : '';
}

export interface JwksHandlerDeps {
  readonly keySet: Pick<PublishedKeySet, 'keys'>;
}

/** The Lambda handler for parsed settings and dependencies (production: ./handler.ts). */
export function createJwksHandler(config: JwksFunctionConfig, deps: JwksHandlerDeps) {
  const log = createLogger('jwks');
  const { issuer, signingAlg } = config;
  return httpHandler(log, async (event) => {
    switch (routeOf(event)) {
      case 'GET /.well-known/jwks.json': {
        const keys = await deps.keySet.keys();
        return json(200, { keys: keys.map((key) => key.jwk) }, CACHEABLE);
      }
      case 'GET /.well-known/openid-configuration':
        return json(
          200,
          {
            issuer,
            jwks_uri: `${issuer}/.well-known/jwks.json`,
            // The token endpoint is /refresh, and the refresh-token grant is the only grant it
            // offers (RFC 6749 §6). Login is a first-party endpoint (POST /login), not the
            // resource owner password grant, which RFC 9700 §2.4 forbids, so it is not advertised.
            token_endpoint: `${issuer}/refresh`,
            grant_types_supported: ['refresh_token'],
            // Public clients (RFC 6749 §2.1) identify themselves with client_id only.
            token_endpoint_auth_methods_supported: ['none'],
            revocation_endpoint: `${issuer}/revoke`,
            revocation_endpoint_auth_methods_supported: ['none'],
            logout_all_endpoint: `${issuer}/logout-all`,
            response_types_supported: [],
            access_token_signing_alg_values_supported: [signingAlg],
          },
          CACHEABLE,
        );
      default:
        throw new NotFoundError();
    }
  });
}
