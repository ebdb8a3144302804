/**
 * POST /login → token response, or 401 `mfa_required` for an account with a second factor; POST
 * /login/mfa completes such a login. Thin: validate the body, call the core, shape the response. The
 * passkey sign-in routes of the same function are in ./passkey-login.ts.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { IssuingFunctionConfig } from '../config/issuer.ts';
import { InvalidGrantError, InvalidRequestError, MfaRequiredError, TooManyRequestsError } from '../core/errors.ts';
import { login, type LoginDeps } from '../core/login.ts';
import { completeMfaLogin, mfaProof, type MfaLoginDeps } from '../core/mfa-login.ts';
import { audit } from '../http/audit.ts';
import { assertAllowedOrigin } from '../http/cookie-mode.ts';
import { DEVICE_TRUST_MS } from '../core/login-throttle.ts';
import { parseScope } from '../core/scope.ts';
import { DEVICE_TOKEN_RULE, MFA_CODE_RULE, MFA_TOKEN_RULE, PASSWORD_RULE, SCOPE_RULE, USERNAME_RULE } from '../http/fields.ts';
import { createLogger, httpHandler } from '../http/handler.ts';
import { createAuthMetrics } from '../http/metrics.ts';
import { jsonBody, onlyFields, optionalString, requiredString, sourceIp } from '../http/request.ts';
import type { HttpResponse } from '../http/respond.ts';
import { readDeviceCookie } from '../http/cookie-mode.ts';
import { requestedDelivery, tokenResult } from '../http/token-result.ts';
import { passkeyLoginRoute, type PasskeyLoginHandlerDeps } from './passkey-login.ts';

/** The Lambda handler for parsed settings and dependencies (production: ./handler.ts). */
export function createLoginHandler(config: IssuingFunctionConfig, deps: LoginDeps & MfaLoginDeps & PasskeyLoginHandlerDeps) {
  const log = createLogger('login');
  const metrics = createAuthMetrics('login', log);
  const { cookie } = config;
  const loginDeps: LoginDeps = { ...deps, onRefused: (reason) => metrics.loginFailed(reason) };
  /**
   * The sign-ins that finish elsewhere (the second factor, a passkey) count like a password login:
   * a token response is a login, a refused code or passkey a bad credential, a 429 a throttled
   * attempt. The passkey options route only hands out a challenge.
   */
  const counted = async (routeKey: string, run: () => Promise<HttpResponse>): Promise<HttpResponse> => {
    const response = await run().catch((error: unknown) => {
      if (error instanceof InvalidGrantError) metrics.loginFailed('bad_credentials');
      if (error instanceof TooManyRequestsError) metrics.loginThrottled();
      throw error;
    });
    if (response.statusCode === 200 && routeKey !== 'POST /login/passkey/options') metrics.loginSucceeded();
    return response;
  };
  return httpHandler(log, async (event) => {
    if (event.routeKey === 'POST /login/mfa') return counted(event.routeKey, () => loginMfa(event, config, deps, log));
    const passkeyRoute = passkeyLoginRoute(event.routeKey);
    if (passkeyRoute !== undefined) return counted(event.routeKey, () => passkeyRoute(event, config, deps, log));
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
        delivery,
      },
      loginDeps,
    ).catch((error: unknown) => {
      if (error instanceof InvalidGrantError) log.info('login failed', { event: 'login_failed' });
      if (error instanceof TooManyRequestsError) metrics.loginThrottled();
      if (error instanceof MfaRequiredError) log.info('second factor required', { event: 'login_mfa_required' });
      throw error;
    });
    log.info('login succeeded', { event: 'login', sub: outcome.sub, sid: outcome.sid });
    metrics.loginSucceeded();
    return tokenResult(outcome.response, delivery, cookie, { token: outcome.deviceToken, maxAgeSeconds: DEVICE_TRUST_MS / 1000 });
  }, metrics);
}

/** POST /login/mfa: `{ mfa_token, otp | recovery_code, device_token? }` → the token response of the login. */
async function loginMfa(
  event: APIGatewayProxyEventV2,
  config: IssuingFunctionConfig,
  deps: LoginDeps & MfaLoginDeps,
  log: Logger,
) {
  const { cookie } = config;
  const body = jsonBody(event);
  onlyFields(body, ['mfa_token', 'otp', 'recovery_code', 'device_token']);
  const mfaToken = requiredString(body, 'mfa_token', MFA_TOKEN_RULE);
  const proof = mfaProof(optionalString(body, 'otp', MFA_CODE_RULE), optionalString(body, 'recovery_code', MFA_CODE_RULE));
  const deviceToken = optionalString(body, 'device_token', DEVICE_TOKEN_RULE) ?? (cookie.enabled ? readDeviceCookie(event) : undefined);
  const outcome = await completeMfaLogin(
    {
      mfaToken,
      proof,
      sourceIp: sourceIp(event),
      ...(deviceToken === undefined ? {} : { deviceToken }),
      // Cookie delivery was chosen at step 1 from an allowed origin; step 2 must come from one too.
      acceptDelivery: (delivery) => {
        if (delivery === 'cookie') assertAllowedOrigin(cookie, event);
      },
    },
    deps,
  ).catch((error: unknown) => {
    if (error instanceof InvalidGrantError) log.info('second factor failed', { event: 'login_mfa_failed' });
    throw error;
  });
  if (outcome.usedRecoveryCode) audit(log, 'recovery_code_used', { sub: outcome.sub, sid: outcome.sid });
  log.info('login succeeded', { event: 'login', sub: outcome.sub, sid: outcome.sid, amr: outcome.amr.join(' ') });
  return tokenResult(outcome.response, outcome.delivery, cookie, { token: outcome.deviceToken, maxAgeSeconds: DEVICE_TRUST_MS / 1000 });
}
