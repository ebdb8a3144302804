/**
 * POST /refresh, the token endpoint → token response with a NEW refresh token. The token comes in
 * the body (`refresh_token`, RFC 6749 §6), JSON or a form (`grant_type=refresh_token`, the only
 * grant offered), or, in cookie mode, in the refresh cookie.
 */
import type { IssuingFunctionConfig } from '../config/issuer.ts';
import { InvalidGrantError, InvalidRequestError, InvalidScopeError, UnsupportedGrantTypeError } from '../core/errors.ts';
import { refresh, type RefreshDeps } from '../core/refresh.ts';
import { assertAllowedOrigin, readRefreshCookie } from '../http/cookie-mode.ts';
import { CLIENT_ID_RULE, GRANT_TYPE_RULE, TOKEN_RULE } from '../http/fields.ts';
import { assertIssuedToClient, tokenRequestBody } from '../http/form.ts';
import { createLogger, httpHandler } from '../http/handler.ts';
import { createAuthMetrics } from '../http/metrics.ts';
import { onlyFields, optionalString, type JsonObject } from '../http/request.ts';
import { tokenResult, type Delivery } from '../http/token-result.ts';

/**
 * The Lambda handler for parsed settings and dependencies (production: ./handler.ts). `onReuse`
 * is the handler's own: it writes the log event the reuse alarm counts.
 */
export function createRefreshHandler(config: IssuingFunctionConfig, dependencies: Omit<RefreshDeps, 'onReuse'>) {
  const log = createLogger('refresh');
  const metrics = createAuthMetrics('refresh', log);
  const { cookie } = config;
  const deps: RefreshDeps = {
    ...dependencies,
    onReuse: (event: { sub: string; sid: string; revokedSessions: number }) => {
      metrics.refreshReuseDetected();
      // The sub and sid go to the log (who to look at), never to the metric (lib/ alarms).
      log.warn('refresh token reuse detected', { event: 'refresh_token_reuse', ...event });
    },
  };
  return httpHandler(log, async (event) => {
    const hasBody = typeof event.body === 'string' && event.body.length > 0;
    let body: JsonObject = {};
    if (hasBody) {
      const request = tokenRequestBody(event);
      body = request.params;
      if (request.encoding === 'json') {
        onlyFields(body, ['refresh_token', 'grant_type', 'client_id']);
      } else {
        // RFC 6749 §3.2: other form parameters are ignored. §6: `grant_type` is REQUIRED; `scope`
        // asks for a narrower scope, which this service does not grant on refresh.
        if (!Object.hasOwn(body, 'grant_type')) throw new InvalidRequestError('The parameter "grant_type" is required.');
        if (Object.hasOwn(body, 'scope')) throw new InvalidScopeError('The scope cannot be changed on refresh; leave out "scope".');
      }
    }
    const grantType = optionalString(body, 'grant_type', GRANT_TYPE_RULE);
    if (grantType !== undefined && grantType !== 'refresh_token') {
      throw new UnsupportedGrantTypeError('This token endpoint supports only grant_type=refresh_token; log in with POST /login.');
    }
    const clientId = optionalString(body, 'client_id', CLIENT_ID_RULE);
    const fromBody = optionalString(body, 'refresh_token', TOKEN_RULE);
    let presented: string;
    let delivery: Delivery;
    if (fromBody !== undefined) {
      presented = fromBody;
      delivery = 'body';
    } else {
      const fromCookie = cookie.enabled ? readRefreshCookie(event) : undefined;
      if (fromCookie === undefined) throw new InvalidRequestError('The field "refresh_token" is required.');
      assertAllowedOrigin(cookie, event);
      presented = fromCookie;
      delivery = 'cookie';
    }
    assertIssuedToClient(clientId, config.policy.clientId);
    // Reuse is counted as reuse (above); every other refused token as invalid. Per request: one
    // container may serve concurrent requests (npm start).
    let reused = false;
    const requestDeps: RefreshDeps = { ...deps, onReuse: (reuse) => ((reused = true), deps.onReuse(reuse)) };
    const outcome = await refresh(presented, requestDeps).catch((error: unknown) => {
      if (error instanceof InvalidGrantError && !reused) metrics.refreshInvalid();
      throw error;
    });
    log.info('refreshed', { event: 'refresh', sub: outcome.family.sub, sid: outcome.family.sid, generation: outcome.family.generation });
    if (outcome.outcome === 'resent') metrics.refreshGraceRetry();
    else metrics.refreshSucceeded();
    return tokenResult(outcome.response, delivery, cookie);
  }, metrics);
}
