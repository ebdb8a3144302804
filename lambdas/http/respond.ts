/**
 * Responses, and the ONE place where errors become HTTP. An `AuthError` is exposed with its code
 * and sentence (RFC 6749 §5.2 body shape); anything else is a bare 500 whose detail goes only to
 * the log (the middy `http-error-handler` rule). Token responses are never cached (RFC 6749 §5.1).
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { AuthError, MfaRequiredError } from '../core/errors.ts';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

const CONTENT_TYPE = { 'Content-Type': 'application/json; charset=utf-8' } as const;

/**
 * RFC 6749 §5.1 and RFC 9111 §5.2.2.5: token responses must not be stored; `Pragma` for HTTP/1.0
 * caches. Only the default: a response that sets its own Cache-Control (the cacheable JWKS) gets
 * neither, so no `Pragma: no-cache` contradicts it.
 */
const NOT_STORED = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}, cookies?: string[]): HttpResponse {
  const setsCaching = Object.keys(headers).some((name) => name.toLowerCase() === 'cache-control');
  return {
    statusCode,
    headers: { ...CONTENT_TYPE, ...(setsCaching ? {} : NOT_STORED), ...headers },
    body: JSON.stringify(body),
    ...(cookies === undefined ? {} : { cookies }),
  };
}

interface ErrorLogger {
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

function describeCause(error: unknown): Record<string, unknown> {
  // Names and messages of dependency errors (e.g. ProvisionedThroughputExceededException) only:
  // never request data, so no password or token can reach the log this way.
  if (error instanceof Error) return { name: error.name, message: error.message.slice(0, 300) };
  return { type: typeof error };
}

export function errorResponse(error: unknown, log: ErrorLogger): HttpResponse {
  if (error instanceof AuthError) {
    const headers: Record<string, string> = {};
    if (error.retryAfterSeconds !== undefined) headers['Retry-After'] = String(error.retryAfterSeconds);
    if (error.status === 401 && error.code === 'invalid_token') {
      // RFC 6750 §3: a 401 on a protected resource names the scheme and the error.
      headers['WWW-Authenticate'] = `Bearer error="invalid_token"`;
    }
    const level = error.status >= 500 ? 'error' : 'warn';
    log[level]('request failed', {
      event: 'request_failed',
      code: error.code,
      status: error.status,
      ...(error.cause === undefined ? {} : { cause: describeCause(error.cause) }),
    });
    const body = { error: error.code, error_description: error.description };
    return json(error.status, error instanceof MfaRequiredError ? { ...body, mfa_token: error.mfaToken } : body, headers);
  }
  log.error('unexpected error', { event: 'unexpected_error', cause: describeCause(error) });
  return json(500, { error: 'server_error', error_description: 'The server failed to handle the request.' });
}
