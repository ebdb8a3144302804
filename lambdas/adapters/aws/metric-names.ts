/**
 * The CloudWatch metrics the functions write (embedded metric format, one namespace per
 * deployment, dimension `service` = the function). The dashboard and alarms (lib/) graph exactly
 * these names, so renaming one here renames it there. Counts unless named otherwise.
 */
import type { AuthorizerOutcome, LoginRefusal, RevocationKind } from '../../core/ports.ts';

/** The namespace when `POWERTOOLS_METRICS_NAMESPACE` is not set (the stack sets one per deployment). */
export const DEFAULT_METRICS_NAMESPACE = 'KmsJwtAuth';

/** The `service` dimension of each function that writes metrics. */
export const METRIC_SERVICES = { login: 'login', refresh: 'refresh', revoke: 'revoke', authorizer: 'authorizer' } as const;

export const METRIC_NAMES = {
  loginSucceeded: 'LoginSucceeded',
  /** Also by dimension `reason` (`LOGIN_REFUSALS`). */
  loginFailed: 'LoginFailed',
  loginThrottled: 'LoginThrottled',
  refreshSucceeded: 'RefreshSucceeded',
  refreshGraceRetry: 'RefreshGraceRetry',
  refreshReuseDetected: 'RefreshReuseDetected',
  refreshInvalid: 'RefreshInvalid',
  /** Also by dimension `kind` (`REVOCATION_KINDS`). */
  revocation: 'Revocation',
} as const;

/** The authorizer's count per decision, and its latency in milliseconds (event to decision). */
export const AUTHORIZER_METRIC_NAMES = {
  allow: 'AuthorizerAllowed',
  deny_401: 'AuthorizerDenied401',
  deny_403: 'AuthorizerDenied403',
  unavailable_503: 'AuthorizerUnavailable503',
  latency: 'AuthorizerLatency',
} as const satisfies Record<AuthorizerOutcome | 'latency', string>;

/** The values the per-event dimensions take: a closed set, since each value is a metric of its own. */
export const LOGIN_REFUSALS = ['bad_credentials', 'user_disabled'] as const satisfies readonly LoginRefusal[];
export const REVOCATION_KINDS = ['session', 'access_token', 'logout_all', 'own_session'] as const satisfies readonly RevocationKind[];
