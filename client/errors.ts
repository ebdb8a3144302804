/**
 * The client library's one error hierarchy. Every failure it reports is an `AuthClientError` with
 * a fixed `code`, so an app can `switch (error.code)` without `instanceof` across bundles.
 * Messages never contain a token or a password.
 */

export type AuthClientErrorCode =
  | 'session_ended'
  | 'rate_limited'
  | 'network'
  | 'unavailable'
  | 'invalid_credentials'
  | 'invalid_second_factor'
  | 'request_rejected';

/**
 * Why the session ended (the argument of `onSessionEnded`, and `SessionEndedError.reason`):
 * - `refresh_rejected`: the service refused the refresh token (401 `invalid_grant`). It answers
 *   the same for a reused token (reuse detection revoked the session: RFC 9700 §4.14.2), a
 *   session revoked elsewhere (logout everywhere, an operator) and an expired one, so that an
 *   attacker learns nothing; for the app each means "sign in again".
 * - `not_signed_in`: there is no session to use (never signed in, or already ended).
 * - `logout` / `logout_everywhere`: this app ended it.
 */
export type SessionEndedReason = 'refresh_rejected' | 'not_signed_in' | 'logout' | 'logout_everywhere';

export class AuthClientError extends Error {
  readonly code: AuthClientErrorCode;

  constructor(code: AuthClientErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
}

/** The session is over; the stored tokens are cleared. Sign the user in again. */
export class SessionEndedError extends AuthClientError {
  readonly reason: SessionEndedReason;

  constructor(reason: SessionEndedReason, message = 'The session has ended; sign in again.') {
    super('session_ended', message);
    this.reason = reason;
  }
}

/** 429: too many attempts; wait `retryAfterSeconds` (the service's `Retry-After`, RFC 6585 §4). */
export class RateLimitedError extends AuthClientError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, message = `Too many attempts; retry in ${retryAfterSeconds} s.`) {
    super('rate_limited', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The request did not get an answer (offline, DNS, connection reset, lost response). The stored
 * session is kept: the same call can simply be made again.
 */
export class NetworkError extends AuthClientError {
  constructor(cause: unknown) {
    super('network', 'The service could not be reached.', { cause });
  }
}

/** 502/503/504: the service or one of its dependencies is down; retry after `retryAfterSeconds` if given. */
export class ServiceUnavailableError extends AuthClientError {
  readonly retryAfterSeconds: number | undefined;
  readonly status: number;

  constructor(status: number, retryAfterSeconds: number | undefined) {
    super('unavailable', 'The service is temporarily unavailable; retry shortly.');
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Login: wrong username or password (the service does not say which). */
export class InvalidCredentialsError extends AuthClientError {
  constructor() {
    super('invalid_credentials', 'The username or password is wrong.');
  }
}

/**
 * `completeMfa`: the code is wrong or was already used, or the mfa_token is spent or expired.
 * `description` is the service's sentence, which says which (safe to show or log).
 */
export class InvalidSecondFactorError extends AuthClientError {
  readonly description: string | undefined;

  constructor(description: string | undefined) {
    super('invalid_second_factor', description ?? 'The code is incorrect, or the sign-in expired; try again.');
    this.description = description;
  }
}

/**
 * Any other refusal (e.g. 400 `invalid_request` or `invalid_scope`): `error` and `description`
 * are the service's RFC 6749 §5.2 fields, safe to log.
 */
export class RequestRejectedError extends AuthClientError {
  readonly status: number;
  readonly error: string | undefined;
  readonly description: string | undefined;

  constructor(status: number, error: string | undefined, description: string | undefined) {
    super('request_rejected', `The service refused the request (${status}${error === undefined ? '' : ` ${error}`})${description === undefined ? '.' : `: ${description}`}`);
    this.status = status;
    this.error = error;
    this.description = description;
  }
}
