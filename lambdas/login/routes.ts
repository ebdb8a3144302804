/**
 * The login function's passkey route keys (public, beside POST /login). A plain list with no
 * imports, so that the CDK construct (lib/token-api.ts) and the local gateway route exactly what
 * the handler serves without loading its runtime dependencies.
 */
export const PASSKEY_LOGIN_ROUTE_KEYS = ['POST /login/passkey/options', 'POST /login/passkey'] as const;
