/**
 * POST /revoke (RFC 7009), POST /logout-all (every session of the caller; the route sits behind
 * the Lambda authorizer, whose context names the caller), GET /sessions and POST /sessions/revoke
 * (the caller lists and ends its own sessions, OWASP ASVS 5 V7.5; also behind the authorizer) and, in cookie mode, POST /refresh/revoke:
 * the browser's logout, which revokes the session of the refresh cookie. That cookie is scoped to
 * the refresh path, so a browser never sends it to /revoke; this route lives under that path.
 */
import type { RevokeFunctionConfig } from '../config/issuer.ts';
import { InvalidRequestError, InvalidTokenError, NotFoundError } from '../core/errors.ts';
import { AccessTokenVerifier, DEFAULT_MAX_TOKEN_LENGTH, UnknownKeyIdError } from '../core/access-token-verifier.ts';
import { revokeAllSessions, revokeSessionBySid, revokeToken, type RevocationDeps, type RevocationResult } from '../core/revocation.ts';
import { sessionViews } from '../core/session-list.ts';
import { ACCESS_TOKEN_TYP, type AccessTokenClaims } from '../core/token-model.ts';
import type { PublishedKey, PublishedKeySet, VerificationKey } from '../core/ports.ts';
import { CLIENT_ID_RULE, TOKEN_RULE } from '../http/fields.ts';
import { assertIssuedToClient, tokenRequestBody } from '../http/form.ts';
import { assertAllowedOrigin, clearRefreshCookie, readRefreshCookie } from '../http/cookie-mode.ts';
import { audit } from '../http/audit.ts';
import { authorizedCaller } from '../http/caller.ts';
import { createLogger, httpHandler } from '../http/handler.ts';
import { createAuthMetrics } from '../http/metrics.ts';
import { emptyBody, jsonBody, onlyFields, optionalString, requiredString } from '../http/request.ts';
import { json } from '../http/respond.ts';

/** RFC 7009 §2.1: `access_token` and `refresh_token` are the registered hints. */
const TOKEN_TYPE_HINTS = /^(access_token|refresh_token)$/;

/** A session id as login mints it (base64url of random bytes), with room to spare. */
const SID_RULE = { maxLength: 64, pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'must be a session id' } as const;

/** What the revoke function runs on: the revocation core's dependencies and the verification keys. */
export interface RevokeHandlerDeps extends Omit<RevocationDeps, 'verifyAccessToken'> {
  readonly keySet: PublishedKeySet;
}

/** The Lambda handler for parsed settings and dependencies (production: ./handler.ts). */
export function createRevokeHandler(config: RevokeFunctionConfig, deps: RevokeHandlerDeps) {
  const log = createLogger('revoke');
  const metrics = createAuthMetrics('revoke', log);
  const { cookie, policy } = config;
  const { keySet } = deps;
  const runtime = deps;
  const verifier = new AccessTokenVerifier(
    {
      algorithms: [policy.alg],
      issuer: policy.issuer,
      audience: policy.audience,
      typ: ACCESS_TOKEN_TYP,
      clockSkewSeconds: policy.clockSkewSeconds,
      expiryLeewaySeconds: 0,
      maxTokenLength: DEFAULT_MAX_TOKEN_LENGTH,
    },
    new Map(),
  );
  let verifierKeys: readonly PublishedKey[] | undefined;

  /** Keeps the verifier on the key set's current keys (the same array until the set changes). */
  function useKeys(keys: readonly PublishedKey[]): void {
    if (keys === verifierKeys) return;
    // The loader has checked each key already (spec, curve or size, thumbprint).
    verifier.setKeys(new Map<string, VerificationKey>(keys.map((key) => [key.kid, key])));
    verifierKeys = keys;
  }

  async function verifyForRevocation(token: string, nowSeconds: number): Promise<AccessTokenClaims | undefined> {
    useKeys(await keySet.keys());
    try {
      return await verifier.verify(token, nowSeconds);
    } catch (error) {
      if (error instanceof UnknownKeyIdError && keySet.reloadForUnknownKid !== undefined) {
        // A key rotated in since the set was loaded: reload (rate-limited) and try once more.
        const reloaded = await keySet.reloadForUnknownKid();
        if (reloaded !== undefined) {
          useKeys(reloaded);
          try {
            return await verifier.verify(token, nowSeconds);
          } catch (retryError) {
            if (retryError instanceof InvalidTokenError) return undefined;
            throw retryError;
          }
        }
      }
      if (error instanceof InvalidTokenError) return undefined;
      throw error;
    }
  }

  return httpHandler(log, async (event) => {
    if (event.routeKey === 'POST /logout-all') {
      emptyBody(event);
      const { sub } = authorizedCaller(event);
      const revoked = await revokeAllSessions(sub, runtime);
      log.info('logged out everywhere', { event: 'logout_all', sub, revokedSessions: revoked });
      metrics.revocation('logout_all');
      return json(200, { revoked_sessions: revoked });
    }

    if (event.routeKey === 'GET /sessions') {
      const caller = authorizedCaller(event);
      const families = await runtime.sessions.listFamilies(caller.sub, Math.floor(runtime.clock.nowMs() / 1000));
      // json() marks every answer Cache-Control: no-store (RFC 9111 §5.2.2.5): a session list is personal.
      return json(200, { sessions: sessionViews(families, caller.sid) });
    }

    if (event.routeKey === 'POST /sessions/revoke') {
      const body = jsonBody(event);
      onlyFields(body, ['sid']);
      const sid = requiredString(body, 'sid', SID_RULE);
      const caller = authorizedCaller(event);
      // Only the caller's own families are searched: another user's sid is as unknown as a made-up one.
      if (!(await revokeSessionBySid(caller.sub, sid, runtime, 'logout'))) throw new NotFoundError('No active session of yours has that sid.');
      audit(log, 'session_ended', { sub: caller.sub, sid: caller.sid, ended_sid: sid, current: sid === caller.sid });
      metrics.revocation('own_session');
      return json(200, {});
    }

    if (event.routeKey === 'POST /refresh/revoke') {
      if (!cookie.enabled) throw new InvalidRequestError('Cookie mode is not enabled on this service; use POST /revoke.');
      emptyBody(event);
      // Same CSRF defence as a cookie refresh: only the allowed origins may log a browser out.
      assertAllowedOrigin(cookie, event);
      const presented = readRefreshCookie(event);
      // The cookie only ever holds a refresh token; anything else has nothing to revoke.
      const result =
        presented === undefined
          ? 'nothing_to_revoke'
          : await revokeToken(presented, { ...runtime, verifyAccessToken: async () => undefined });
      log.info('revocation', { event: 'revoke', result, delivery: 'cookie' });
      countRevocation(result);
      // RFC 7009 §2.2: 200 whether or not there was anything to revoke; the cookie goes either way.
      return json(200, {}, {}, [clearRefreshCookie(cookie)]);
    }

    // JSON or an RFC 7009 §2.1 form; a form's other parameters are ignored (RFC 6749 §3.2).
    const request = tokenRequestBody(event);
    const body = request.params;
    if (request.encoding === 'json') onlyFields(body, ['token', 'token_type_hint', 'client_id']);
    const token = requiredString(body, 'token', TOKEN_RULE);
    // The hint is validated but, as RFC 7009 §2.1 allows, the server finds the type by itself.
    optionalString(body, 'token_type_hint', { maxLength: 32, pattern: TOKEN_TYPE_HINTS, patternHint: 'must be access_token or refresh_token' });
    if (token.trim() !== token) throw new InvalidRequestError('The field "token" must not have surrounding whitespace.');
    assertIssuedToClient(optionalString(body, 'client_id', CLIENT_ID_RULE), policy.clientId);
    const result = await revokeToken(token, { ...runtime, verifyAccessToken: verifyForRevocation });
    log.info('revocation', { event: 'revoke', result });
    countRevocation(result);
    // RFC 7009 §2.2: 200 whether or not there was anything to revoke.
    return json(200, {});
  }, metrics);

  /** Only what ended something counts: RFC 7009 answers 200 for a token that revoked nothing too. */
  function countRevocation(result: RevocationResult): void {
    if (result === 'session_revoked') metrics.revocation('session');
    else if (result === 'access_token_revoked') metrics.revocation('access_token');
  }
}
