/**
 * POST /login → token response. Thin: validate the body, call the core, shape the response. The
 * passkey sign-in routes of the same function are in ./passkey-login.ts.
 */
import type { IssuingFunctionConfig } from '../config/issuer.ts';
import { InvalidGrantError, InvalidRequestError } from '../core/errors.ts';
import { login, type LoginDeps } from '../core/login.ts';
import { DEVICE_TRUST_MS } from '../core/login-throttle.ts';
import { parseScope } from '../core/scope.ts';
import { DEVICE_TOKEN_RULE, PASSWORD_RULE, SCOPE_RULE, USERNAME_RULE } from '../http/fields.ts';
import { createLogger, httpHandler } from '../http/handler.ts';
import { jsonBody, onlyFields, optionalString, requiredString, sourceIp } from '../http/request.ts';
import { readDeviceCookie } from '../http/cookie-mode.ts';
import { requestedDelivery, tokenResult } from '../http/token-result.ts';
import { passkeyLoginRoute, type PasskeyLoginHandlerDeps } from './passkey-login.ts';

/** The Lambda handler for parsed settings and dependencies (production: ./handler.ts). */
export function createLoginHandler(config: IssuingFunctionConfig, deps: LoginDeps & PasskeyLoginHandlerDeps) {
  const log = createLogger('login');
  const { cookie } = config;
  return httpHandler(log, async (event) => {
    const passkeyRoute = passkeyLoginRoute(event.routeKey);
    if (passkeyRoute !== undefined) return passkeyRoute(event, config, deps, log);
    const body = jsonBody(event);
    onlyFields(body, ['username', 'password', 'scope', 'token_delivery', 'device_token']);
    const username = requiredString(body, 'username', USERNAME_RULE).toLowerCase();
    const password = requiredString(body, 'password', PASSWORD_RULE);
    const scopeText = optionalString(body, 'scope', SCOPE_RULE);
    // The device token from the body, else (cookie mode) from the device cookie. Its value is never
    // checked here: an unusable one only makes the attempt an untrusted source (core/login-throttle.ts).
    const deviceToken = optionalString(body, 'device_token', DEVICE_TOKEN_RULE) ?? (cookie.enabled ? readDeviceCookie(event) : undefined);
    const delivery = requestedDelivery(optionalString(body, 'token_delivery', { maxLength: 16 }), cookie, event);
    const scope = scopeText === undefined ? undefined : parseScope(scopeText);
    if (scopeText !== undefined && scope === undefined) {
      throw new InvalidRequestError('The field "scope" must be space-separated scope names (RFC 6749 §3.3).');
    }
    const outcome = await login(
      {
        username,
        password,
        sourceIp: sourceIp(event),
        ...(scope === undefined ? {} : { scope }),
        ...(deviceToken === undefined ? {} : { deviceToken }),
      },
      deps,
    ).catch((error: unknown) => {
      if (error instanceof InvalidGrantError) log.info('login failed', { event: 'login_failed' });
      throw error;
    });
    log.info('login succeeded', { event: 'login', sub: outcome.sub, sid: outcome.sid });
    return tokenResult(outcome.response, delivery, cookie, { token: outcome.deviceToken, maxAgeSeconds: DEVICE_TRUST_MS / 1000 });
  });
}
