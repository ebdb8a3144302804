/** Input rules shared by the token endpoints. */
export const USERNAME_RULE = {
  maxLength: 128,
  // Usernames are ASCII and case-insensitive (stored lowercase), so one person cannot appear as
  // two users through Unicode or case variants.
  pattern: /^[A-Za-z0-9._@+-]+$/,
  patternHint: 'may contain only letters, digits and . _ @ + -',
} as const;

/** Long passphrases are welcome (OWASP: at least 64 characters allowed); megabytes are not. */
export const PASSWORD_RULE = { maxLength: 1024 } as const;

export const SCOPE_RULE = { maxLength: 1024, minLength: 0 } as const;

/** Refresh tokens are 88 characters; access tokens well under 4 KiB. */
export const TOKEN_RULE = { maxLength: 4096 } as const;

/** Device tokens are 43 characters; a little room so that a wrong one is just untrusted, not a 400. */
export const DEVICE_TOKEN_RULE = { maxLength: 256 } as const;

/** `client_id` (RFC 6749 §2.2): the service's own client id is short; room for any reasonable one. */
export const CLIENT_ID_RULE = { maxLength: 256 } as const;

/** `grant_type` (RFC 6749 §4.5): short registered names or absolute URIs. */
export const GRANT_TYPE_RULE = { maxLength: 256 } as const;

/** `mfa_token` is 43 characters; room for a wrong one to be a 401, not a 400. */
export const MFA_TOKEN_RULE = { maxLength: 256 } as const;

/** A TOTP code is 6 digits and a recovery code 19 characters; spaces and hyphens are allowed in both. */
export const MFA_CODE_RULE = { maxLength: 64 } as const;
