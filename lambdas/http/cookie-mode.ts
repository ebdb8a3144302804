/**
 * Cookie mode for browsers (SECURITY.md, "Cookie mode and CSRF"): the refresh token travels in a cookie that scripts cannot
 * read (`HttpOnly`), only over HTTPS (`Secure`, and the `__Secure-` prefix of RFC 6265bis §4.1.3.1),
 * never on cross-site requests (`SameSite=Strict`), and only to the refresh path (`Path`).
 *
 * CSRF: SameSite=Strict already keeps the cookie off cross-site requests; as a second layer a
 * cookie-authenticated request must carry an `Origin` from the configured allowlist (OWASP CSRF
 * Prevention Cheat Sheet, "Verifying Origin With Standard Headers"). Browsers always send Origin
 * on POST, and a page cannot forge it.
 *
 * The device token (core/login-throttle.ts) of a browser that asked for cookie delivery travels
 * the same way in `__Secure-device_token`, scoped to the login path (the refresh path's sibling),
 * so that scripts cannot read it and it is sent only where it is used.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { CookieConfig } from '../config/cookie.ts';
import { InvalidRequestError } from '../core/errors.ts';
import { header } from './request.ts';

const REFRESH_COOKIE = '__Secure-refresh_token';
const DEVICE_COOKIE = '__Secure-device_token';

export function setRefreshCookie(config: CookieConfig, token: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE}=${token}; Path=${config.path}; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

export function clearRefreshCookie(config: CookieConfig): string {
  return `${REFRESH_COOKIE}=; Path=${config.path}; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;
}

export function setDeviceCookie(config: CookieConfig, token: string, maxAgeSeconds: number): string {
  return `${DEVICE_COOKIE}=${token}; Path=${config.loginPath}; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

function cookieValues(event: Pick<APIGatewayProxyEventV2, 'cookies' | 'headers'>, name: string): string[] {
  const raw: unknown = event.cookies;
  const cookies = Array.isArray(raw) ? raw : (header(event, 'cookie') ?? '').split(';');
  return cookies
    .filter((cookie): cookie is string => typeof cookie === 'string')
    .map((cookie) => cookie.trim())
    .filter((cookie) => cookie.startsWith(`${name}=`))
    .map((cookie) => cookie.slice(name.length + 1));
}

/** The refresh cookie's value, if the request carries exactly one. */
export function readRefreshCookie(event: Pick<APIGatewayProxyEventV2, 'cookies' | 'headers'>): string | undefined {
  const values = cookieValues(event, REFRESH_COOKIE);
  if (values.length > 1) throw new InvalidRequestError('The request carries more than one refresh cookie.');
  return values[0];
}

/**
 * The device cookie's value if the request carries exactly one. Anything else is no device token:
 * an unusable device token only makes the request an untrusted source, never an error.
 */
export function readDeviceCookie(event: Pick<APIGatewayProxyEventV2, 'cookies' | 'headers'>): string | undefined {
  const values = cookieValues(event, DEVICE_COOKIE);
  return values.length === 1 ? values[0] : undefined;
}

/** CSRF defence for cookie-authenticated requests: Origin must be on the allowlist. */
export function assertAllowedOrigin(config: CookieConfig, event: Pick<APIGatewayProxyEventV2, 'headers'>): void {
  const origin = header(event, 'origin');
  if (origin === undefined || !config.allowedOrigins.includes(origin)) {
    throw new InvalidRequestError('Cookie requests must come from an allowed Origin.');
  }
}
