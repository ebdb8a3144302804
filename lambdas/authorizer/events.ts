/**
 * Narrowing API Gateway authorizer events (all `unknown` until checked) to what the decision
 * needs: the bearer token, the method/route ARN and which response shape to answer with.
 *
 * - REST `TOKEN`  (`type: "TOKEN"`, `authorizationToken`, `methodArn`, nothing else) → IAM policy.
 * - REST `REQUEST` and HTTP API payload 1.0 (`type: "REQUEST"`, `methodArn`, `headers`,
 *   `stageVariables`) → IAM policy.
 * - HTTP API payload 2.0 (`version: "2.0"`, `type: "REQUEST"`, `routeArn`, lower-cased `headers`,
 *   `stageVariables`) → simple response or IAM policy, per `AUTHORIZER_RESPONSE`.
 */
import { isRecord } from '../core/is-record.ts';

type EventKind = 'rest-token' | 'rest-request' | 'http-v2';

export interface AuthorizationRequest {
  readonly kind: EventKind;
  /** The raw `Authorization` header value (TOKEN: `authorizationToken`), if exactly one. */
  readonly authorization: string | undefined;
  /** `methodArn` or `routeArn`. */
  readonly arn: string | undefined;
  /**
   * The stage's variables (still `unknown`), where an API carries its own route table. REST
   * `REQUEST` and HTTP API payload 2.0 events have them; `TOKEN` events never do.
   */
  readonly stageVariables: unknown;
}

/** Case-insensitive header lookup (RFC 9110 §5.1); more than one `Authorization` is refused. */
function authorizationHeader(headers: unknown, multiValueHeaders: unknown): string | undefined {
  let found: string | undefined;
  let count = 0;
  if (isRecord(headers)) {
    for (const name in headers) {
      if (name.toLowerCase() === 'authorization') {
        count++;
        const value = headers[name];
        found = typeof value === 'string' ? value : undefined;
      }
    }
  }
  if (isRecord(multiValueHeaders)) {
    for (const name in multiValueHeaders) {
      const values = multiValueHeaders[name];
      if (name.toLowerCase() === 'authorization' && Array.isArray(values) && values.length > 1) return undefined;
    }
  }
  return count === 1 ? found : undefined;
}

/** `undefined` when the input is no authorizer event we know. */
export function toAuthorizationRequest(event: unknown): AuthorizationRequest | undefined {
  if (!isRecord(event)) return undefined;
  const arnOf = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  if (event.type === 'TOKEN') {
    return {
      kind: 'rest-token',
      authorization: typeof event.authorizationToken === 'string' ? event.authorizationToken : undefined,
      arn: arnOf(event.methodArn),
      stageVariables: undefined,
    };
  }
  if (event.type !== 'REQUEST') return undefined;
  if (event.version === '2.0') {
    return {
      kind: 'http-v2',
      authorization: authorizationHeader(event.headers, undefined),
      arn: arnOf(event.routeArn),
      stageVariables: event.stageVariables,
    };
  }
  return {
    kind: 'rest-request',
    authorization: authorizationHeader(event.headers, event.multiValueHeaders),
    arn: arnOf(event.methodArn),
    stageVariables: event.stageVariables,
  };
}

/**
 * RFC 6750 §2.1: `Authorization: Bearer <b64token>`; the scheme is case-insensitive
 * (RFC 9110 §11.1), separated by one space. Anything else is "no token".
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 8) return undefined;
  if (authorization.charCodeAt(6) !== 0x20 || authorization.slice(0, 6).toLowerCase() !== 'bearer') return undefined;
  return authorization.slice(7);
}

export interface ParsedArn {
  /** `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>` */
  readonly apiStagePrefix: string;
  /** `<METHOD>/<path without leading slash>`, what IAM resource globs are matched against. */
  readonly resource: string;
}

/** `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path...>` */
export function parseExecuteApiArn(arn: string | undefined): ParsedArn | undefined {
  if (arn === undefined || arn.length > 2048) return undefined;
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn' || parts[2] !== 'execute-api') return undefined;
  const head = parts.slice(0, 5).join(':');
  const tail = parts.slice(5).join(':');
  const first = tail.indexOf('/');
  const second = first === -1 ? -1 : tail.indexOf('/', first + 1);
  if (first <= 0 || second <= first + 1) return undefined;
  const resource = tail.slice(second + 1);
  if (resource.length === 0 || resource.includes('*')) return undefined;
  return { apiStagePrefix: `${head}:${tail.slice(0, second)}`, resource };
}
