/**
 * Cookie mode and CORS settings (lambdas/http/cookie-mode.ts applies them): whether the refresh
 * token may travel in a cookie, the path it is scoped to, and the browser origins allowed to use
 * it. Pure; the token functions parse them at cold start and the CDK construct at synth.
 */
import { ConfigurationError } from '../core/errors.ts';
import { commaList, oneOf, type EnvRecord } from './env.ts';

export interface CookieConfig {
  readonly enabled: boolean;
  readonly path: string;
  /** The login path as clients see it: `/login` beside the refresh path (`/auth/refresh` → `/auth/login`). */
  readonly loginPath: string;
  readonly allowedOrigins: readonly string[];
}

export function parseCookieConfig(env: EnvRecord): CookieConfig {
  const enabled = oneOf(env, 'COOKIE_MODE', ['on', 'off'] as const, 'off') === 'on';
  const path = env['REFRESH_COOKIE_PATH']?.trim() || '/refresh';
  // The cookie must reach both POST /refresh and POST /refresh/revoke: the path is `/refresh` as
  // clients see it, possibly under a base path (`/auth/refresh` behind a mapping).
  if (!/^\/[A-Za-z0-9/_.-]*$/.test(path) || !(path === '/refresh' || path.endsWith('/refresh'))) {
    throw new ConfigurationError('REFRESH_COOKIE_PATH must be the URL path of /refresh as clients see it, e.g. /refresh or /auth/refresh.');
  }
  const origins = commaList(env, 'CORS_ORIGINS');
  for (const origin of origins) {
    if (origin === '*') {
      // Any origin may read responses (no credentials); none may use the cookie.
      if (enabled) throw new ConfigurationError('CORS_ORIGINS "*" cannot be combined with COOKIE_MODE=on.');
    } else if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(origin)) {
      throw new ConfigurationError(`CORS_ORIGINS has an invalid origin "${origin}".`);
    }
  }
  const allowedOrigins = origins.filter((origin) => origin !== '*');
  if (enabled && allowedOrigins.length === 0) {
    throw new ConfigurationError('COOKIE_MODE=on needs CORS_ORIGINS: the origins allowed to use the refresh cookie.');
  }
  return { enabled, path, loginPath: `${path.slice(0, -'/refresh'.length)}/login`, allowedOrigins };
}
