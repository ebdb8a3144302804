/**
 * The one error module. Every failure the service can answer with is an `AuthError` with a fixed
 * `code` from a closed union; the HTTP edge (`lambdas/http/respond.ts`) is the only place that turns
 * one into a response. Codes are the RFC 6749 §5.2 / RFC 6750 §3.1 / RFC 7009 ones where one fits.
 * `description` is a human sentence that is safe to show to a client: it never contains a
 * password, a token or a key. Detail for operators goes in `cause`, which is never sent.
 */
import type { PasswordRuleViolation } from './password-policy.ts';

const ERROR_CODES = [
  'invalid_request',
  'invalid_grant',
  'mfa_required',
  'invalid_scope',
  'invalid_token',
  'insufficient_scope',
  'insufficient_user_authentication',
  'unsupported_token_type',
  'unsupported_grant_type',
  'too_many_requests',
  'temporarily_unavailable',
  'not_found',
  'conflict',
  'server_error',
] as const;

type ErrorCode = (typeof ERROR_CODES)[number];

export class AuthError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly description: string;
  /** Seconds a client should wait before retrying (`Retry-After`, RFC 9110 §10.2.3). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    status: number,
    description: string,
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.description = description;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Malformed input: bad JSON, wrong types, missing or oversized fields, wrong content type. */
export class InvalidRequestError extends AuthError {
  constructor(description: string, cause?: unknown) {
    super('invalid_request', 400, description, { cause });
  }
}

/**
 * A new password that breaks a rule of NIST SP 800-63B-4 §3.1.1.2 (`core/password-policy.ts`).
 * `rule` names which; the description says it in words and never contains the password.
 */
export class InvalidPasswordError extends InvalidRequestError {
  readonly rule: PasswordRuleViolation;

  constructor(rule: PasswordRuleViolation, description: string) {
    super(description);
    this.rule = rule;
  }
}

/**
 * Wrong credentials or an unusable refresh token. 401 (RFC 6749 §5.2 allows 400; this service
 * answers 401, as README.md documents, so that clients treat it as "log in again").
 */
export class InvalidGrantError extends AuthError {
  constructor(description: string, cause?: unknown) {
    super('invalid_grant', 401, description, { cause });
  }
}

/**
 * Re-authentication of a signed-in user failed (the current password, when changing it or
 * deleting the account). 400 with `invalid_grant` (RFC 6749 §5.2: "the provided ... resource owner
 * credentials ... is invalid"), not 401: the access token is fine, and a 401 on a route behind the
 * authorizer means "this token is no longer good" (RFC 6750 §3.1), which makes clients refresh and
 * send the same wrong password again.
 */
export class ReauthenticationError extends AuthError {
  constructor(description: string) {
    super('invalid_grant', 400, description);
  }
}

/**
 * The access token does not show the authentication the action requires (e.g. a second factor):
 * 403 `insufficient_user_authentication` (RFC 9470 §3). The client signs in again with it.
 */
export class InsufficientUserAuthenticationError extends AuthError {
  constructor(description: string) {
    super('insufficient_user_authentication', 403, description);
  }
}

/**
 * The change lost a race with another change of the same thing (RFC 9110 §15.5.10, 409 Conflict):
 * nothing was written; the client reads the new state before trying again.
 */
export class ConflictError extends AuthError {
  constructor(description: string) {
    super('conflict', 409, description);
  }
}

/**
 * The password was right and the account has a second factor: the login continues at
 * POST /login/mfa with `mfaToken` (401, as the login is not complete; README "Second factor").
 * The token is the one secret this error carries: the HTTP edge puts it in the body as
 * `mfa_token`, and nothing logs it.
 */
export class MfaRequiredError extends AuthError {
  readonly mfaToken: string;

  constructor(mfaToken: string) {
    super('mfa_required', 401, 'A second factor is required: send a code from the authenticator app (or a recovery code) to POST /login/mfa with this mfa_token.');
    this.mfaToken = mfaToken;
  }
}

/** The requested scope exceeds what the user holds (RFC 6749 §5.2). */
export class InvalidScopeError extends AuthError {
  constructor(description: string) {
    super('invalid_scope', 400, description);
  }
}

/** Missing, malformed, forged, expired or revoked access token (RFC 6750 §3.1). */
export class InvalidTokenError extends AuthError {
  constructor(description: string, cause?: unknown) {
    super('invalid_token', 401, description, { cause });
  }
}

/** A grant type the token endpoint does not offer (RFC 6749 §5.2); this one offers only `refresh_token`. */
export class UnsupportedGrantTypeError extends AuthError {
  constructor(description: string) {
    super('unsupported_grant_type', 400, description);
  }
}

/** Too many failed attempts; `Retry-After` says when to come back (RFC 6585 §4). */
export class TooManyRequestsError extends AuthError {
  constructor(description: string, retryAfterSeconds: number) {
    super('too_many_requests', 429, description, { retryAfterSeconds });
  }
}

/**
 * A dependency (DynamoDB, KMS) is down, throttling or timing out. RFC 6749 §5.2 has no such code;
 * `temporarily_unavailable` comes from RFC 6749 §4.1.2.1 (README.md lists it with the others).
 */
export class DependencyUnavailableError extends AuthError {
  constructor(dependency: 'DynamoDB' | 'KMS', cause?: unknown, retryAfterSeconds = 1) {
    super(
      'temporarily_unavailable',
      503,
      `The service is temporarily unavailable (${dependency}); retry shortly.`,
      { cause, retryAfterSeconds },
    );
  }
}

/** A transient conflict the client should simply retry (e.g. a login racing a logout-everywhere). */
export class RetryableConflictError extends AuthError {
  constructor(description: string, cause?: unknown) {
    super('temporarily_unavailable', 503, description, { cause, retryAfterSeconds: 1 });
  }
}

export class NotFoundError extends AuthError {
  constructor(description = 'No such route.') {
    super('not_found', 404, description);
  }
}

/** Misconfiguration found at cold start. Fails fast; never shown to clients in detail. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}
