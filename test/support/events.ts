/**
 * API Gateway events built from the captured-shape fixtures in test/fixtures/events/ (see
 * SOURCE.md there): authorizer events with a token put in, and HTTP API proxy events for a route.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type AuthorizerFixture = 'http-v2-request-whoami' | 'http-v2-request-admin' | 'rest-token' | 'rest-request-whoami';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8')) as Record<string, unknown>;
}

/** A fixture event with `TOKEN` replaced by `authorization` (or the header removed if undefined). */
export function authorizerEvent(name: AuthorizerFixture, authorization: string | undefined): Record<string, unknown> {
  const replace = (value: unknown): unknown => {
    if (typeof value === 'string') return value === 'Bearer TOKEN' ? authorization : value;
    if (Array.isArray(value)) return value.map(replace).filter((v) => v !== undefined);
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const replaced = replace(v);
        if (replaced !== undefined) out[k] = replaced;
        else if (Array.isArray(v)) out[k] = [];
      }
      return out;
    }
    return value;
  };
  const result = replace(fixture(name)) as Record<string, unknown>;
  const mvh = result.multiValueHeaders as Record<string, unknown[]> | undefined;
  if (mvh !== undefined && Array.isArray(mvh.Authorization) && mvh.Authorization.length === 0) delete mvh.Authorization;
  return result;
}

export interface ProxyRequest {
  /** Extra or replaced headers (lower-case names, as HTTP APIs deliver them). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as the JSON body with `content-type: application/json`. */
  readonly json?: unknown;
  /** `requestContext.authorizer.lambda`: the context a Lambda authorizer allowed the request with. */
  readonly authorizerContext?: Readonly<Record<string, unknown>>;
}

/** An HTTP API (payload format 2.0) proxy event for `routeKey`, e.g. `POST /login`. */
export function proxyEventV2(routeKey: string, request: ProxyRequest = {}): Record<string, unknown> {
  const [method = '', path = ''] = routeKey.split(' ');
  const template = fixture('http-v2-proxy-post') as {
    headers: Record<string, string>;
    requestContext: Record<string, unknown> & { http: Record<string, unknown> };
  };
  const body = request.json === undefined ? undefined : JSON.stringify(request.json);
  const headers: Record<string, string> = { ...template.headers, 'content-length': String(Buffer.byteLength(body ?? '')), ...request.headers };
  if (body === undefined) delete headers['content-type'];
  const now = new Date();
  return {
    ...template,
    routeKey,
    rawPath: path,
    headers,
    requestContext: {
      ...template.requestContext,
      http: { ...template.requestContext.http, method, path },
      requestId: randomBytes(12).toString('base64'),
      routeKey,
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
      ...(request.authorizerContext === undefined ? {} : { authorizer: { lambda: { ...request.authorizerContext } } }),
    },
    body,
    isBase64Encoded: false,
  };
}
