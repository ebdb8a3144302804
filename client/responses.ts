/** Turns the service's answers into the client's errors (RFC 6749 §5.2 bodies, RFC 9110 Retry-After). */
import { NetworkError, RateLimitedError, RequestRejectedError, ServiceUnavailableError } from './errors.ts';

/** What the service answered in an error body, if it was one of its RFC 6749 §5.2 bodies. */
export interface ErrorBody {
  readonly error: string | undefined;
  readonly description: string | undefined;
  /** The whole parsed body, for endpoint-specific members (e.g. `mfa_token`). */
  readonly raw: unknown;
}

/** When `Retry-After` is missing from a 429 (the service always sends it): wait a minute rather than hammer. */
const DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60;

/** RFC 9110 §10.2.3: delay-seconds or an HTTP-date; undefined when absent or unreadable. */
export function retryAfterSeconds(response: Response, nowMs: number): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}

export async function readJson(response: Response): Promise<unknown> {
  try {
    return (await response.json()) as unknown;
  } catch {
    return undefined;
  }
}

export function stringMember(value: unknown, name: string): string | undefined {
  if (typeof value !== 'object' || value === null || !(name in value)) return undefined;
  const member: unknown = (value as Record<string, unknown>)[name];
  return typeof member === 'string' ? member : undefined;
}

export async function errorBody(response: Response): Promise<ErrorBody> {
  const body = await readJson(response);
  return { error: stringMember(body, 'error'), description: stringMember(body, 'error_description'), raw: body };
}

/**
 * The error for a refusal that means the same on every endpoint: 429, 5xx, anything else. The
 * endpoint-specific ones (401 at login or refresh) are decided by the caller first.
 */
export function commonError(response: Response, body: ErrorBody, nowMs: number): Error {
  if (response.status === 429) return new RateLimitedError(retryAfterSeconds(response, nowMs) ?? DEFAULT_RATE_LIMIT_WAIT_SECONDS);
  if (response.status === 502 || response.status === 503 || response.status === 504) {
    return new ServiceUnavailableError(response.status, retryAfterSeconds(response, nowMs));
  }
  return new RequestRejectedError(response.status, body.error, body.description);
}

function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'name' in error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

export type Fetch = (input: string | URL, init: RequestInit) => Promise<Response>;

/** `fetch` whose failures to get any answer become `NetworkError`; a caller's own abort stays as it is. */
export async function send(fetchImpl: Fetch, url: string | URL, init: RequestInit): Promise<Response> {
  try {
    return await fetchImpl(url, init);
  } catch (error) {
    if (isAbort(error) && init.signal?.aborted === true) throw error;
    throw new NetworkError(error);
  }
}
