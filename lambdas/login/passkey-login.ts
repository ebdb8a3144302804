/**
 * The login function's passkey routes (public, like POST /login): `POST /login/passkey/options`
 * hands out a sign-in challenge, `POST /login/passkey` checks the assertion (WebAuthn Level 3
 * §7.2, rules in `core/passkeys.ts`) and starts a session exactly as a password login does, with
 * the passkey's `amr`.
 *
 * No per-user failure counter as for passwords: an assertion is a signature by a key that never
 * leaves the authenticator, so there is nothing to guess online; each attempt spends a single-use
 * challenge, and the stage throttles these routes like POST /login (lib/token-api.ts).
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { IssuingFunctionConfig } from '../config/issuer.ts';
import { InvalidGrantError, InvalidRequestError, InvalidScopeError } from '../core/errors.ts';
import { authenticateWithPasskey, authenticationOptions, passkeysEnabled, type PasskeyLoginDeps } from '../core/passkeys.ts';
import { grantScopes, parseScope } from '../core/scope.ts';
import { startSession } from '../core/session-start.ts';
import type { IssuerDeps } from '../core/token-issuance.ts';
import { SCOPE_RULE } from '../http/fields.ts';
import { emptyBody, jsonBody, onlyFields, optionalString } from '../http/request.ts';
import { json, type HttpResponse } from '../http/respond.ts';
import { requestedDelivery, tokenResult } from '../http/token-result.ts';
import { authenticationResponse } from '../http/webauthn-response.ts';

export type PasskeyLoginHandlerDeps = IssuerDeps & PasskeyLoginDeps;

/** A challenge is 43 base64url characters; `challenge_id` is that challenge (the options' `challenge`). */
const CHALLENGE_ID_RULE = { maxLength: 64, pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'must be the challenge of the options' } as const;

/** POST /login/passkey/options → PublicKeyCredentialRequestOptionsJSON (no allowCredentials: any discoverable passkey). */
async function options(event: APIGatewayProxyEventV2, config: IssuingFunctionConfig, deps: PasskeyLoginHandlerDeps): Promise<HttpResponse> {
  const rp = passkeysEnabled(config.passkeys);
  emptyBody(event);
  return json(200, await authenticationOptions(rp, deps));
}

/** POST /login/passkey `{ response, challenge_id?, scope?, token_delivery? }` → token response. */
async function signIn(event: APIGatewayProxyEventV2, config: IssuingFunctionConfig, deps: PasskeyLoginHandlerDeps, log: Logger): Promise<HttpResponse> {
  const rp = passkeysEnabled(config.passkeys);
  const body = jsonBody(event);
  onlyFields(body, ['response', 'challenge_id', 'scope', 'token_delivery']);
  if (!Object.hasOwn(body, 'response')) throw new InvalidRequestError('The field "response" is required.');
  const response = authenticationResponse(body['response']);
  const challengeId = optionalString(body, 'challenge_id', CHALLENGE_ID_RULE);
  const scopeText = optionalString(body, 'scope', SCOPE_RULE);
  const scope = scopeText === undefined ? undefined : parseScope(scopeText);
  if (scopeText !== undefined && scope === undefined) {
    throw new InvalidRequestError('The field "scope" must be space-separated scope names (RFC 6749 §3.3).');
  }
  const delivery = requestedDelivery(optionalString(body, 'token_delivery', { maxLength: 16 }), config.cookie, event);
  const startedMs = deps.clock.nowMs();
  const signedIn = await authenticateWithPasskey(response, challengeId, rp, deps).catch((error: unknown) => {
    if (error instanceof InvalidGrantError) log.info('passkey login failed', { event: 'login_failed', method: 'passkey' });
    throw error;
  });
  const granted = grantScopes(scope, signedIn.user.scopes);
  if (granted === undefined) throw new InvalidScopeError('The requested scope exceeds the scopes granted to this user.');
  const session = await startSession({ sub: signedIn.user.sub, username: signedIn.user.username, scope: granted, amr: signedIn.amr, startedMs }, deps);
  log.info('login succeeded', { event: 'login', method: 'passkey', sub: signedIn.user.sub, sid: session.sid, credential_id: signedIn.credentialId });
  return tokenResult(session.response, delivery, config.cookie);
}

/** The passkey route for a route key of the login function, if it is one. */
export function passkeyLoginRoute(
  routeKey: string,
): ((event: APIGatewayProxyEventV2, config: IssuingFunctionConfig, deps: PasskeyLoginHandlerDeps, log: Logger) => Promise<HttpResponse>) | undefined {
  if (routeKey === 'POST /login/passkey/options') return options;
  if (routeKey === 'POST /login/passkey') return signIn;
  return undefined;
}
