/**
 * The account function: what a signed-in user does with their own account, on routes behind the
 * Lambda authorizer (the caller is the one the authorizer named). Each group of routes (password,
 * second factors, passkeys, deletion) is a module of this folder that contributes handlers to the
 * one route table below; this file only dispatches.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AccountFunctionConfig } from '../config/account.ts';
import { callerAccount } from '../core/account.ts';
import { NotFoundError } from '../core/errors.ts';
import type { LoginThrottle, ReauthenticationThrottle } from '../core/login-throttle.ts';
import type {
  AccountEraser,
  Clock,
  PasskeyStore,
  PasswordHasher,
  RandomSource,
  SecondFactors,
  SecondFactorStore,
  SecretSealer,
  SessionStore,
  ThrottleCounters,
  UserDirectory,
  WebAuthnChallenges,
} from '../core/ports.ts';
import { authorizedCaller } from '../http/caller.ts';
import { createLogger, httpHandler } from '../http/handler.ts';
import { emptyBody } from '../http/request.ts';
import { json, type HttpResponse } from '../http/respond.ts';
import { deleteAccountRoute } from './delete-routes.ts';
import { changePasswordRoute } from './password-routes.ts';
import { PASSKEY_ROUTES } from './passkeys.ts';
import { ACCOUNT_ROUTE_KEYS, type AccountRouteKey } from './routes.ts';
import { confirmTotpRoute, enrolTotpRoute, removeTotpRoute } from './totp-routes.ts';

const isAccountRouteKey = (key: string): key is AccountRouteKey => (ACCOUNT_ROUTE_KEYS as readonly string[]).includes(key);

/** What the account routes run on. */
export interface AccountHandlerDeps {
  readonly users: UserDirectory;
  readonly sessions: SessionStore;
  readonly passwords: PasswordHasher;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly secondFactors: SecondFactors & SecondFactorStore;
  readonly eraser: AccountEraser;
  /**
   * The login throttle: re-authentication (a password to change or delete) spends its allowance,
   * and wrong codes at POST /mfa/totp/remove count like wrong passwords.
   */
  readonly throttle: ReauthenticationThrottle & LoginThrottle;
  readonly throttleCounters: Pick<ThrottleCounters, 'clear'>;
  readonly sealer: SecretSealer;
  readonly passkeys: PasskeyStore;
  readonly challenges: WebAuthnChallenges;
}

/** One route: the event, the settings, the dependencies and the function's logger. */
export type AccountRoute = (
  event: APIGatewayProxyEventV2,
  config: AccountFunctionConfig,
  deps: AccountHandlerDeps,
  log: Logger,
) => Promise<HttpResponse>;

/** GET /account: who the caller is, as far as the caller may know (never a hash or a secret). */
const getAccount: AccountRoute = async (event, _config, deps) => {
  emptyBody(event);
  const user = await callerAccount(authorizedCaller(event), deps);
  const totp = await deps.secondFactors.hasSecondFactor(user.sub);
  return json(200, { username: user.username, sub: user.sub, scopes: user.scopes, mfa: { totp } });
};

/** Every route of the account function, by API Gateway route key (`./routes.ts` lists them). */
const ACCOUNT_ROUTES: Readonly<Record<AccountRouteKey, AccountRoute>> = {
  'GET /account': getAccount,
  'POST /account/password': changePasswordRoute,
  'POST /account/delete': deleteAccountRoute,
  'POST /mfa/totp/enroll': enrolTotpRoute,
  'POST /mfa/totp/confirm': confirmTotpRoute,
  'POST /mfa/totp/remove': removeTotpRoute,
  ...PASSKEY_ROUTES,
};

/** The Lambda handler for parsed settings and dependencies (production: ./handler.ts). */
export function createAccountHandler(config: AccountFunctionConfig, deps: AccountHandlerDeps) {
  const log = createLogger('account');
  return httpHandler(log, async (event) => {
    const route = isAccountRouteKey(event.routeKey) ? ACCOUNT_ROUTES[event.routeKey] : undefined;
    if (route === undefined) throw new NotFoundError(`No route ${event.routeKey} on the account function.`);
    return route(event, config, deps, log);
  });
}
