/**
 * A local stand-in for an API Gateway HTTP API: turns HTTP requests into payload format 2.0 events,
 * runs the Lambda authorizer on protected routes the way API Gateway does, then the route's
 * handler, and turns its result back into HTTP. Behaviour mirrored from the API Gateway Developer
 * Guide, "Working with AWS Lambda authorizers for HTTP APIs":
 * - identity source `$request.header.Authorization` missing → 401 without calling the authorizer;
 * - the authorizer throws `Unauthorized` → 401; simple response `isAuthorized: false` → 403;
 *   an IAM policy that does not allow the route ARN → 403; any other authorizer failure → 500;
 * - the authorizer's `context` reaches the integration as `requestContext.authorizer.lambda`;
 * - with CORS configured ("Configuring CORS for an HTTP API"), preflight `OPTIONS` requests are
 *   answered by the gateway itself, and responses to an allowed `Origin` carry
 *   `Access-Control-Allow-Origin` (and `-Credentials` when credentials are allowed);
 * - a repeated request header or query parameter reaches the Lambdas as one value, the values
 *   joined with commas ("Working with AWS Lambda proxy integrations for HTTP APIs", payload 2.0);
 * - a response header whose value is `undefined` is not sent (the runtime serializes the result
 *   as JSON, which drops it).
 *
 * One deliberate difference: API Gateway refuses a request whose request line and headers exceed
 * 10240 bytes before any authorizer runs ("Quotas for configuring and running an HTTP API"), and
 * Node's own limit is 16 KiB (answered 431). Here headers up to `MAX_HEADER_BYTES` reach the
 * authorizer, so that its own cap on token length is what answers an oversized token (401), and
 * that cap is testable end to end.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayRequestAuthorizerEventV2,
  Context,
} from 'aws-lambda';

type LambdaHandler<E, R> = (event: E, context: Context) => Promise<R>;
export type RouteTarget = LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;
export type AuthorizerTarget = LambdaHandler<APIGatewayRequestAuthorizerEventV2, unknown>;

export interface Route {
  readonly target: RouteTarget;
  readonly protected?: boolean;
}

/** The HTTP API's CORS configuration, as the CDK stack sets it (`corsPreflight`). */
export interface CorsConfig {
  readonly allowOrigins: readonly string[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly allowCredentials: boolean;
  readonly maxAgeSeconds: number;
}

interface GatewayOptions {
  readonly routes: Readonly<Record<string, Route>>;
  /** Read per request, so it can be set once the service knows its configuration. */
  readonly cors?: () => CorsConfig | undefined;
  readonly authorizer: AuthorizerTarget;
  /** API Gateway's payload limit is 10 MB; ours is far smaller and still above every handler's cap. */
  readonly maxBodyBytes?: number;
  readonly region?: string;
  /**
   * Requests wait for this before anything answers them: the service binds its port before it is
   * ready, and a client must never see a route that answers before its dependencies (the demo
   * user, the keys) exist.
   */
  readonly ready?: Promise<void>;
}

/** Room for oversized-token attacks (a 1 MiB kid is a ~1.4 MB token), for the authorizer to refuse. */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;

const API_ID = 'localapi';
const ACCOUNT_ID = '111122223333';

function lambdaContext(functionName: string): Context {
  const requestId = randomUUID();
  const deadline = Date.now() + 10_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}, cookies: string[] = []): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (cookies.length > 0) res.setHeader('Set-Cookie', cookies);
  res.end(body);
}

const message = (res: ServerResponse, status: number, text: string): void =>
  send(res, status, JSON.stringify({ message: text }), { 'Content-Type': 'application/json' });

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too_large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) return 'too_large';
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function matchRoute(routes: Readonly<Record<string, Route>>, method: string, path: string): [string, Route] | undefined {
  const key = `${method} ${path}`;
  const route = routes[key];
  return route === undefined ? undefined : [key, route];
}

/** True when `policy` allows `execute-api:Invoke` on `routeArn` and denies nothing that matches. */
export function policyAllows(policy: unknown, routeArn: string): boolean {
  if (typeof policy !== 'object' || policy === null || !('Statement' in policy) || !Array.isArray(policy.Statement)) return false;
  const matches = (pattern: string): boolean =>
    new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(routeArn);
  let allowed = false;
  for (const statement of policy.Statement as unknown[]) {
    if (typeof statement !== 'object' || statement === null) continue;
    const { Effect: effect, Resource: resource, Action: action } = statement as Record<string, unknown>;
    const resources = (Array.isArray(resource) ? resource : [resource]).filter((r): r is string => typeof r === 'string');
    const actions = (Array.isArray(action) ? action : [action]).filter((a): a is string => typeof a === 'string');
    if (!actions.some((a) => a === 'execute-api:Invoke' || a === 'execute-api:*' || a === '*')) continue;
    if (!resources.some(matches)) continue;
    if (effect === 'Deny') return false;
    if (effect === 'Allow') allowed = true;
  }
  return allowed;
}

export function createGateway(options: GatewayOptions): Server {
  const limit = options.maxBodyBytes ?? 1024 * 1024;
  const region = options.region ?? 'us-east-1';

  return createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    void (async () => {
      await options.ready;
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = (req.method ?? 'GET').toUpperCase();
      const cors = options.cors?.();
      const origin = req.headers.origin;
      const corsAllowed = cors !== undefined && origin !== undefined && cors.allowOrigins.includes(origin);
      if (corsAllowed) {
        res.setHeader('Access-Control-Allow-Origin', origin);
        if (cors.allowCredentials) res.setHeader('Access-Control-Allow-Credentials', 'true');
      }
      if (cors !== undefined) res.setHeader('Vary', 'Origin');
      if (cors !== undefined && method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
        // A preflight: answered here, never by a route or the authorizer. A disallowed origin gets
        // no Access-Control-* headers, which the browser reads as a refusal.
        if (corsAllowed) {
          res.setHeader('Access-Control-Allow-Methods', cors.allowMethods.join(','));
          res.setHeader('Access-Control-Allow-Headers', cors.allowHeaders.join(','));
          res.setHeader('Access-Control-Max-Age', String(cors.maxAgeSeconds));
        }
        return send(res, 204, '');
      }
      const matched = matchRoute(options.routes, method, url.pathname);
      if (matched === undefined) return message(res, 404, 'Not Found');
      const [routeKey, route] = matched;

      const body = await readBody(req, limit);
      if (body === 'too_large') return message(res, 413, 'Request Entity Too Large');

      // Payload 2.0 joins a repeated header's values with commas, for every header (Node keeps
      // only the first Authorization in req.headers, so the distinct values are read instead):
      // two Authorization headers reach the authorizer as one malformed value, as in AWS.
      const headers: Record<string, string> = {};
      for (const [name, values] of Object.entries(req.headersDistinct)) {
        if (name === 'cookie' || values === undefined) continue;
        headers[name] = values.join(',');
      }
      const cookies = (req.headersDistinct['cookie'] ?? [])
        .flatMap((line) => line.split(';'))
        .map((c) => c.trim())
        .filter((c) => c !== '');
      // Repeated query parameters are joined with commas too.
      const queryStringParameters: Record<string, string> = {};
      for (const name of new Set(url.searchParams.keys())) queryStringParameters[name] = url.searchParams.getAll(name).join(',');
      const now = new Date();
      const requestContext = {
        accountId: ACCOUNT_ID,
        apiId: API_ID,
        domainName: headers['host'] ?? 'localhost',
        domainPrefix: 'localhost',
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
          userAgent: headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey,
        stage: '$default',
        time: now.toUTCString(),
        timeEpoch: now.getTime(),
      };
      const common = {
        version: '2.0' as const,
        routeKey,
        rawPath: url.pathname,
        rawQueryString: url.search.slice(1),
        headers,
        ...(cookies.length > 0 ? { cookies } : {}),
        ...(url.search.length > 1 ? { queryStringParameters } : {}),
      };

      let authorizerContext: Record<string, unknown> | undefined;
      if (route.protected === true) {
        const authorization = headers['authorization'];
        if (authorization === undefined || authorization === '') return message(res, 401, 'Unauthorized');
        const routeArn = `arn:aws:execute-api:${region}:${ACCOUNT_ID}:${API_ID}/$default/${method}${url.pathname}`;
        const authEvent = {
          ...common,
          type: 'REQUEST',
          routeArn,
          identitySource: [authorization],
          requestContext,
          pathParameters: {},
          stageVariables: {},
        } as APIGatewayRequestAuthorizerEventV2;
        let decision: unknown;
        try {
          decision = await options.authorizer(authEvent, lambdaContext('authorizer'));
        } catch (error) {
          if (error instanceof Error && error.message === 'Unauthorized') return message(res, 401, 'Unauthorized');
          return message(res, 500, 'Internal Server Error');
        }
        if (typeof decision !== 'object' || decision === null) return message(res, 500, 'Internal Server Error');
        const result = decision as Record<string, unknown>;
        const allowed = 'isAuthorized' in result ? result['isAuthorized'] === true : policyAllows(result['policyDocument'], routeArn);
        if (!allowed) return message(res, 403, 'Forbidden');
        const context = result['context'];
        authorizerContext = typeof context === 'object' && context !== null ? { ...(context as Record<string, unknown>) } : {};
      }

      const event = {
        ...common,
        requestContext: authorizerContext === undefined ? requestContext : { ...requestContext, authorizer: { lambda: authorizerContext } },
        body: body.length > 0 ? body.toString('utf8') : undefined,
        isBase64Encoded: false,
      } as APIGatewayProxyEventV2;

      let result: APIGatewayProxyResultV2;
      try {
        result = await route.target(event, lambdaContext(routeKey.replace(/[^A-Za-z0-9]+/g, '-')));
      } catch {
        return message(res, 500, 'Internal Server Error');
      }
      if (typeof result === 'string' || typeof result !== 'object' || result === null) {
        return send(res, 200, typeof result === 'string' ? result : JSON.stringify(result), { 'Content-Type': 'application/json' });
      }
      // The Lambda runtime sends the result to API Gateway as JSON, which drops members whose value
      // is undefined: such a header is never sent, rather than sent as "undefined".
      const responseHeaders: Record<string, string> = {};
      for (const [name, value] of Object.entries(result.headers ?? {})) {
        if (value !== undefined) responseHeaders[name] = String(value);
      }
      send(res, result.statusCode ?? 200, result.body ?? '', responseHeaders, result.cookies ?? []);
    })().catch(() => {
      if (!res.headersSent) message(res, 500, 'Internal Server Error');
      else res.destroy();
    });
  });
}
