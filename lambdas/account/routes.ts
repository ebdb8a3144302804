/**
 * The account function's route keys, all behind the authorizer. A plain list with no imports, so
 * that the CDK construct (lib/token-api.ts) and the local gateway route exactly what the handler
 * serves without loading the handler's runtime dependencies.
 */
export const ACCOUNT_ROUTE_KEYS = [
  'GET /account',
  'POST /account/password',
  'POST /account/delete',
  'POST /mfa/totp/enroll',
  'POST /mfa/totp/confirm',
  'POST /mfa/totp/remove',
  'POST /passkeys/register/options',
  'POST /passkeys/register/verify',
  'GET /passkeys',
  'POST /passkeys/delete',
] as const;

export type AccountRouteKey = (typeof ACCOUNT_ROUTE_KEYS)[number];
