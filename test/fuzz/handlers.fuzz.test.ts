/**
 * Property-based tests (fast-check) that drive every handler directly, in-process, against the
 * local service's DynamoDB Local and KMS stand-in, with arbitrary API Gateway events.
 *
 * The properties are the error contract of README.md ("Endpoints") and SECURITY.md:
 * - an HTTP handler always resolves (never rejects), with a status in {200, 400, 401, 403, 404,
 *   405, 429, 503} — never a 5xx other than 503 — and a JSON body that carries `error` and
 *   `error_description` whenever the status is ≥ 400;
 * - the authorizer handler either resolves to a decision or throws exactly `Error('Unauthorized')`,
 *   and never allows a token it did not issue; `decide()` never throws at all.
 *
 * Runs are bounded: arguments that reach Argon2 password verification (~100 ms each) are a small,
 * weighted share of the login runs.
 */
import { ACCOUNT_ROUTE_KEYS } from '../../lambdas/account/routes.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { startLocalService, type LocalService } from '../../local/service.ts';

const PASSWORD = 'fuzz-demo-password-9f2c';
const ORIGIN = 'https://app.example';
const ALLOWED_STATUSES = [200, 400, 401, 403, 404, 405, 429, 503] as const;

type HttpResult = { statusCode?: unknown; body?: unknown; headers?: unknown };
type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;
type AuthorizerHandler = (event: unknown) => Promise<unknown>;
type Decide = (event: unknown) => Promise<unknown>;

let service: LocalService;
let handlers: Record<'login' | 'refresh' | 'revoke' | 'jwks' | 'account', HttpHandler>;
let authorizer: AuthorizerHandler;
let decide: Decide;
/** A genuine session of the demo user, for mutation-based inputs. */
let genuine: { access: string; refresh: string; sub: string };
/** Another session of the demo user that no fuzzer ever sees: the authorizer's positive control. */
let control: { access: string; refresh: string };

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:111122223333:function:${name}`,
    memoryLimitInMB: '256',
    awsRequestId: 'fuzz-request',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'fuzz',
    getRemainingTimeInMillis: () => 10_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

beforeAll(async () => {
  service = await startLocalService({
    port: 0,
    demoPassword: PASSWORD,
    // Cookie mode on, so the cookie and Origin paths of /login and /refresh are fuzzed too.
    env: { COOKIE_MODE: 'on', CORS_ORIGINS: ORIGIN },
  });
  // The very handlers the service serves, built by their factories from its settings.
  handlers = {
    login: service.handlers.login as unknown as HttpHandler,
    refresh: service.handlers.refresh as unknown as HttpHandler,
    revoke: service.handlers.revoke as unknown as HttpHandler,
    jwks: service.handlers.jwks as unknown as HttpHandler,
    account: service.handlers.account as unknown as HttpHandler,
  };
  authorizer = service.handlers.authorizer;
  decide = service.handlers.authorizer.decide;

  const first = await demoLogin();
  const claims = JSON.parse(Buffer.from(String(first.access.split('.')[1]), 'base64url').toString('utf8')) as Record<string, unknown>;
  genuine = { ...first, sub: String(claims['sub']) };
  // Logged in now, before the login property can trip the demo user's throttle; never fuzzed.
  control = await demoLogin();
});

async function demoLogin(): Promise<{ access: string; refresh: string }> {
  const res = await handlers.login(
    httpEvent('POST /login', { 'content-type': 'application/json' }, JSON.stringify({ username: 'demo', password: PASSWORD })),
    lambdaContext('login'),
  );
  expect(res.statusCode).toBe(200);
  const body = JSON.parse(String(res.body)) as Record<string, unknown>;
  return { access: String(body['access_token']), refresh: String(body['refresh_token']) };
}

afterAll(async () => {
  await service?.stop();
});

// ---------------------------------------------------------------------------------------------
// Events

function httpEvent(routeKey: string, headers: Record<string, string>, body: string): APIGatewayProxyEventV2 {
  const [method = 'POST', path = '/'] = routeKey.split(' ');
  return {
    version: '2.0',
    routeKey,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '111122223333',
      apiId: 'fuzzapi',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.1', userAgent: 'fuzz' },
      requestId: 'fuzz-setup',
      routeKey,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: false,
  };
}

const ROUTE_KEYS = [
  'POST /login',
  'POST /login/mfa',
  'POST /login/passkey/options',
  'POST /login/passkey',
  'POST /refresh',
  'POST /revoke',
  'POST /refresh/revoke',
  'POST /logout-all',
  'GET /sessions',
  'POST /sessions/revoke',
  'GET /.well-known/jwks.json',
  'GET /.well-known/openid-configuration',
  'GET /whoami',
  ...ACCOUNT_ROUTE_KEYS,
  '$default',
] as const;

const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8') },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset=UTF-16',
    'application/json;',
    ' application/json ',
    'application/jsonx',
    'application/x-www-form-urlencoded',
    'text/plain',
    'multipart/form-data; boundary=x',
    '',
  ),
);

const headerValue = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 42, ['a', 'b'], {}) },
);

/** Headers with case variants and duplicates of the same name in different case. */
const headers: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 'content-type: application/json', [], 7) },
  {
    weight: 12,
    arbitrary: fc
      .record(
        {
          ct: fc.tuple(fc.constantFrom('content-type', 'Content-Type', 'CONTENT-TYPE', 'content-Type'), contentTypes),
          ct2: fc.tuple(fc.constantFrom('Content-type', 'CONTENT-type'), contentTypes),
          origin: fc.tuple(fc.constantFrom('origin', 'Origin'), fc.oneof(fc.constant(ORIGIN), fc.constant('https://evil.example'), fc.string({ maxLength: 30 }))),
          cookie: fc.tuple(fc.constantFrom('cookie', 'Cookie'), fc.oneof(fc.string({ maxLength: 60 }), fc.constant('__Secure-refresh_token=abc; __Secure-refresh_token=def'))),
          authorization: fc.tuple(fc.constantFrom('authorization', 'Authorization'), fc.string({ maxLength: 60 })),
          extra: fc.dictionary(fc.string({ maxLength: 20 }), headerValue, { maxKeys: 4 }),
        },
        { requiredKeys: [] },
      )
      .map(({ extra, ...named }) => {
        const out: Record<string, unknown> = { ...extra };
        for (const pair of Object.values(named)) out[pair[0]] = pair[1];
        return out;
      }),
  },
);

const cookies: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.array(
    fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ maxLength: 100 }).map((value) => `__Secure-refresh_token=${value}`),
      fc.constant('__Secure-refresh_token='),
      fc.constantFrom<unknown>(null, 3, {}),
    ),
    { maxLength: 4 },
  ),
  fc.constantFrom<unknown>('__Secure-refresh_token=x', null, {}),
);

/** A JSON value nested `depth` levels deep, built without recursion limits in the generator. */
const deepNesting = fc.tuple(fc.integer({ min: 100, max: 4_000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => {
  const close = open === '[' ? ']' : '}';
  return `${open.repeat(depth)}1${close.repeat(depth)}`;
});

/** Bodies shaped like the real requests, with arbitrary values in the known fields. */
const fieldValue = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 5000 }).map((n) => 'x'.repeat(n)) },
);

/** 65-byte version-1 refresh tokens: well formed, naming the demo user or a random sub. */
const wellFormedRefreshToken = fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 64, maxLength: 64 })).map(([demoSub, bytes]) => {
  const buffer = Buffer.concat([Buffer.of(1), Buffer.from(bytes)]);
  if (demoSub) Buffer.from(genuine.sub.replaceAll('-', ''), 'hex').copy(buffer, 1);
  return buffer.toString('base64url');
});

/** A genuine token with one character changed (or cut, or extended). */
function mutated(token: () => string): fc.Arbitrary<string> {
  return fc.tuple(fc.nat(), fc.constantFrom('A', 'z', '_', '-', '.', '=', '+', ''), fc.constantFrom('replace', 'cut', 'append')).map(([at, char, how]) => {
    const value = token();
    const i = at % value.length;
    const changed = how === 'cut' ? value.slice(0, i) : how === 'append' ? `${value}${char}` : `${value.slice(0, i)}${char}${value.slice(i + 1)}`;
    // Replacing a character by itself (or appending nothing) would give the genuine token back.
    return changed === value ? `${value}~` : changed;
  });
}

const tokenLike = fc.oneof(
  fc.string({ maxLength: 100 }),
  wellFormedRefreshToken,
  mutated(() => genuine.refresh),
  mutated(() => genuine.access),
  fc.stringMatching(/^[A-Za-z0-9_-]{10,60}\.[A-Za-z0-9_-]{10,200}\.[A-Za-z0-9_-]{0,90}$/),
);

const FIELD_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  username: fc.oneof(fc.constantFrom('demo', 'DEMO', 'nobody', 'de mo', '', 'demo\u0000'), fieldValue),
  password: fc.oneof(fc.constant(PASSWORD), fieldValue),
  scope: fc.oneof(fc.constantFrom('read', 'profile read', 'admin', '', 'a\\b', '  '), fieldValue),
  token_delivery: fc.oneof(fc.constantFrom('body', 'cookie', 'Cookie'), fieldValue),
  refresh_token: fc.oneof({ weight: 3, arbitrary: tokenLike }, { weight: 1, arbitrary: fieldValue }),
  token: fc.oneof({ weight: 3, arbitrary: tokenLike }, { weight: 1, arbitrary: fieldValue }),
  token_type_hint: fc.oneof(fc.constantFrom('access_token', 'refresh_token', 'bogus'), fieldValue),
  grant_type: fc.oneof({ weight: 4, arbitrary: fc.constant('refresh_token') }, { weight: 1, arbitrary: fc.constantFrom('password', 'Refresh_Token', 'authorization_code', '') }, { weight: 1, arbitrary: fieldValue }),
  client_id: fc.oneof({ weight: 3, arbitrary: fc.constant('local-client') }, { weight: 1, arbitrary: fc.constantFrom('someone-else', '', 'local-client ') }, { weight: 1, arbitrary: fieldValue }),
};

/**
 * A JSON object with the route's own fields (each present or not, with arbitrary values) and now
 * and then one it does not know, so most runs get past the shape checks and into the core.
 */
function structuredBody(fields: readonly string[]): fc.Arbitrary<string> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) model[field] = FIELD_VALUES[field] ?? fieldValue;
  return fc
    .tuple(
      fc.record(model, { requiredKeys: [] }),
      fc.option(fc.tuple(fc.constantFrom('constructor', 'grant_type', 'extra', 'toString', ...Object.keys(FIELD_VALUES)), fieldValue), { freq: 6 }),
    )
    .map(([object, extra]) => JSON.stringify(extra === null ? object : { ...object, [extra[0]]: extra[1] }));
}

/** A form value: strings as they are, anything else as its JSON text. */
const formValue = (value: unknown): string => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

/**
 * An `application/x-www-form-urlencoded` body with the route's own parameters (each present or not,
 * arbitrary values) and now and then one it does not know (RFC 6749 §3.2: ignored), percent-encoded
 * as clients do, or with `+` for spaces.
 */
function structuredForm(fields: readonly string[]): fc.Arbitrary<string> {
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const field of fields) model[field] = FIELD_VALUES[field] ?? fieldValue;
  return fc
    .tuple(
      fc.record(model, { requiredKeys: [] }),
      fc.option(fc.tuple(fc.constantFrom('scope', 'client_secret', 'extra', '__proto__', 'constructor', ...Object.keys(FIELD_VALUES)), fieldValue), { freq: 6 }),
      fc.boolean(),
    )
    .map(([object, extra, plusForSpace]) => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(object)) params.append(name, formValue(value));
      if (extra !== null && !params.has(extra[0])) params.append(extra[0], formValue(extra[1]));
      const text = params.toString();
      return plusForSpace ? text : text.replaceAll('+', '%20');
    });
}

/** [body, isBase64Encoded] */
const bodies = (structured: fc.Arbitrary<string>): fc.Arbitrary<[unknown, unknown]> => fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.string({ maxLength: 200 }), fc.constant(false)) },
  { weight: 2, arbitrary: fc.tuple(fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'), fc.constant(false)) },
  { weight: 6, arbitrary: fc.tuple(structured, fc.constantFrom<unknown>(false, undefined)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 8_000, max: 200_000 }).map((n) => `{"username":"${'a'.repeat(n)}"}`), fc.constant(false)) },
  { weight: 1, arbitrary: fc.tuple(deepNesting, fc.constant(false)) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom(
        `{"__proto__":{"admin":true},"username":"demo","password":"x"}`,
        `{"username":"demo","username":"root","password":"x"}`,
        `{"token":"a","token":"b"}`,
        `{"refresh_token":"\\ud800"}`,
        `{"username":"demo","password":"\\u0000"}`,
        '\ufeff{"token":"x"}',
      ),
      fc.constant(false),
    ),
  },
  // Invalid UTF-8 and arbitrary bytes, base64-encoded as API Gateway does for binary bodies.
  { weight: 2, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64')), fc.constant(true)) },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80])).map((b) => b.toString('base64')),
      fc.constant(true),
    ),
  },
  { weight: 1, arbitrary: fc.tuple(structured.map((text) => Buffer.from(text).toString('base64')), fc.constant(true)) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 100 }), fc.constant(true)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom<unknown>(undefined, null, '', 12, { a: 1 }, ['x']), fc.anything()) },
);

const requestContext: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, {}, 'ctx') },
  {
    weight: 6,
    arbitrary: fc.record(
      {
        accountId: fc.constant('111122223333'),
        apiId: fc.constant('fuzzapi'),
        requestId: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }), fc.constantFrom<unknown>(null, 5)),
        routeKey: fc.constantFrom(...ROUTE_KEYS),
        stage: fc.constant('$default'),
        http: fc.oneof(
          fc.record(
            {
              method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'), fc.string({ maxLength: 8 })),
              path: fc.oneof(fc.constantFrom('/login', '/.well-known/jwks.json', '/.well-known/openid-configuration'), fc.string({ maxLength: 30 })),
              sourceIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 80 }), fc.constantFrom<unknown>(null, 1)),
            },
            { requiredKeys: [] },
          ),
          fc.constantFrom<unknown>(undefined, null, 'http'),
        ),
        // What API Gateway puts there after the Lambda authorizer (POST /logout-all).
        authorizer: fc.oneof(
          fc.constantFrom<unknown>(undefined, null, {}, { lambda: null }, { lambda: { sub: '' } }, { lambda: { sub: 5 } }),
          // Random subs only: logging the demo user out everywhere would end the sessions other
          // properties rely on.
          fc.record({ lambda: fc.record({ sub: fc.oneof(fc.uuid(), fc.string({ maxLength: 40 })) }) }),
        ),
      },
      { requiredKeys: [] },
    ),
  },
);

/** An arbitrary HTTP API 2.0 event whose route key is usually, but not always, the handler's own. */
function eventFor(ownRouteKeys: readonly string[], fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record(
      {
        version: fc.constantFrom<unknown>('2.0', '1.0', undefined, 2),
        routeKey: fc.oneof(
          { weight: 6, arbitrary: fc.constantFrom(...ownRouteKeys) },
          { weight: 2, arbitrary: fc.constantFrom<unknown>(...ROUTE_KEYS) },
          { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom<unknown>(undefined, null, 3)) },
        ),
        rawPath: fc.oneof(fc.constantFrom('/login', '/refresh', '/.well-known/jwks.json', '/.well-known/openid-configuration'), fc.string({ maxLength: 30 })),
        headers,
        cookies,
        requestContext,
        body: bodies(structuredBody(fields)),
      },
      { requiredKeys: ['routeKey', 'headers', 'body'] },
    )
    .map(({ body: [body, isBase64Encoded], ...rest }) => {
      const event: Record<string, unknown> = { ...rest, body, isBase64Encoded };
      for (const key of Object.keys(event)) if (event[key] === undefined) delete event[key];
      return event;
    });
}

// ---------------------------------------------------------------------------------------------
// Properties

function describeResult(result: unknown): string {
  return JSON.stringify(result)?.slice(0, 400) ?? String(result);
}

async function assertHttpContract(
  handler: HttpHandler,
  name: string,
  event: Record<string, unknown>,
  seen: Set<unknown>,
  onBody: (body: unknown) => void = () => undefined,
): Promise<void> {
  let result: HttpResult;
  try {
    result = await handler(event as unknown as APIGatewayProxyEventV2, lambdaContext(name));
  } catch (error) {
    throw new Error(`${name} rejected: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  }
  expect(typeof result, describeResult(result)).toBe('object');
  const status = result.statusCode;
  seen.add(status);
  expect(ALLOWED_STATUSES as readonly unknown[], `${name} status ${String(status)}: ${describeResult(result)}`).toContain(status);
  expect(typeof result.body).toBe('string');
  const body: unknown = JSON.parse(String(result.body));
  if (typeof status === 'number' && status >= 400) {
    expect(body, describeResult(result)).toMatchObject({ error: expect.any(String), error_description: expect.any(String) });
  }
  onBody(body);
}

/**
 * A fixed seed keeps CI reproducible (the non-vacuity checks below depend on what the runs reach);
 * set FUZZ_SEED to explore other parts of the input space locally.
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261123);
const RUNS = { numRuns: 250, endOnFailure: true, seed: SEED } as const;

describe('every HTTP handler answers arbitrary API Gateway HTTP API 2.0 events within the contract', () => {
  it('POST /login always resolves to 200/400/401/403/404/405/429/503 with an OAuth error body', async () => {
    const seen = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(eventFor(['POST /login'], ['username', 'password', 'scope', 'token_delivery']), (event) =>
        assertHttpContract(handlers.login, 'login', event, seen),
      ),
      { ...RUNS, numRuns: 200 },
    );
    // Not vacuous: besides what the random runs reached, one well-formed login with a wrong
    // password goes through password verification and the throttle within the same contract.
    await assertHttpContract(handlers.login, 'login', {
      version: '2.0',
      routeKey: 'POST /login',
      rawPath: '/login',
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      requestContext: { requestId: 'fuzz-anchor', routeKey: 'POST /login', http: { method: 'POST', path: '/login', sourceIp: '198.51.100.77' } },
      body: JSON.stringify({ username: `fuzz-anchor-${Date.now()}`, password: 'not the password' }),
      isBase64Encoded: false,
    }, seen);
    expect([...seen]).toEqual(expect.arrayContaining([400, 401]));
  });

  it('POST /refresh always resolves to 200/400/401/403/404/405/429/503 with an OAuth error body', async () => {
    const seen = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(eventFor(['POST /refresh'], ['refresh_token']), (event) => assertHttpContract(handlers.refresh, 'refresh', event, seen)),
      RUNS,
    );
    expect([...seen]).toEqual(expect.arrayContaining([400, 401]));
  });

  it('POST /revoke, /refresh/revoke, /logout-all, /sessions/revoke and GET /sessions always resolve to 200/400/401/403/404/405/429/503 with an OAuth error body', async () => {
    const seen = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(eventFor(['POST /revoke', 'POST /refresh/revoke', 'POST /logout-all', 'POST /sessions/revoke', 'GET /sessions'], ['token', 'token_type_hint', 'sid']), (event) => assertHttpContract(handlers.revoke, 'revoke', event, seen)),
      RUNS,
    );
    expect([...seen]).toEqual(expect.arrayContaining([200, 400, 401]));
  });

  it('the account routes always resolve to 200/400/401/403/404/405/429/503 with an OAuth error body', async () => {
    const seen = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(
        eventFor([...ACCOUNT_ROUTE_KEYS, '$default'], ['current_password', 'new_password', 'password', 'otp', 'recovery_code', 'id', 'name', 'response']),
        (event) => assertHttpContract(handlers.account, 'account', event, seen),
      ),
      RUNS,
    );
    // Random callers name no live session of theirs: refused as invalid_token, or 400 before that.
    expect([...seen]).toEqual(expect.arrayContaining([400, 401]));
  });

  it('the JWKS and discovery handler always resolves to 200/400/401/403/404/405/429/503 with an OAuth error body', async () => {
    const seen = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(
        eventFor(['GET /.well-known/jwks.json', 'GET /.well-known/openid-configuration', '$default'], []),
        (event) => assertHttpContract(handlers.jwks, 'jwks', event, seen),
      ),
      RUNS,
    );
    expect([...seen]).toEqual(expect.arrayContaining([200, 404]));
  });

  it('the JWKS and discovery handler keeps the contract when requestContext.http.method is present (the rest of its input space)', async () => {
    const seen = new Set<unknown>();
    const withMethod = fc
      .tuple(eventFor(['GET /.well-known/jwks.json', 'GET /.well-known/openid-configuration', '$default'], []), fc.constantFrom('GET', 'POST', 'HEAD', 'x'))
      .map(([event, method]) => {
        const context = typeof event['requestContext'] === 'object' && event['requestContext'] !== null ? event['requestContext'] : {};
        return { ...event, requestContext: { ...context, http: { method, path: String(event['rawPath']) } } };
      });
    await fc.assert(
      fc.asyncProperty(withMethod, (event) => assertHttpContract(handlers.jwks, 'jwks', event, seen)),
      RUNS,
    );
    expect([...seen]).toEqual(expect.arrayContaining([200, 404]));
  });
});

describe('form-encoded token and revocation requests answer within the same contract', () => {
  const FORM_TYPES = ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded;charset=UTF-8', 'Application/X-WWW-Form-Urlencoded; charset=utf-8'] as const;

  /** A well-formed event with a form content type, so the runs reach the form parser and beyond. */
  function formEvent(routeKeys: readonly string[], fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
    return fc
      .record({
        routeKey: fc.constantFrom(...routeKeys),
        contentType: fc.constantFrom(...FORM_TYPES),
        cookie: fc.option(fc.oneof(fc.constant(`__Secure-refresh_token=${'A'.repeat(87)}`), fc.string({ maxLength: 40 }).map((v) => `__Secure-refresh_token=${v}`)), { freq: 4 }),
        origin: fc.constantFrom(ORIGIN, 'https://evil.example'),
        body: fc.oneof(
          { weight: 8, arbitrary: structuredForm(fields).map((text): [string, boolean] => [text, false]) },
          { weight: 1, arbitrary: structuredForm(fields).map((text): [string, boolean] => [Buffer.from(text).toString('base64'), true]) },
          { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((text): [string, boolean] => [text, false]) },
          { weight: 1, arbitrary: fc.stringMatching(/^([a-z_%0-9A-F+]{0,12}=?[a-zA-Z0-9%+_-]{0,20}&?){0,6}$/).map((text): [string, boolean] => [text, false]) },
          { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 20_000 }).map((n): [string, boolean] => [`grant_type=refresh_token&refresh_token=${'a'.repeat(n)}`, false]) },
          { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes): [string, boolean] => [Buffer.from(bytes).toString('base64'), true]) },
        ),
      })
      .map(({ routeKey, contentType, cookie, origin, body: [body, isBase64Encoded] }) => {
        const headers: Record<string, string> = { 'content-type': contentType, origin, ...(cookie === null ? {} : { cookie }) };
        return { ...httpEvent(routeKey, headers, body), isBase64Encoded, ...(cookie === null ? {} : { cookies: [cookie] }) };
      });
  }

  it('POST /refresh with arbitrary forms: 200/400/401/…, an OAuth error body, never a 5xx other than 503', async () => {
    const seen = new Set<unknown>();
    const codes = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(formEvent(['POST /refresh'], ['grant_type', 'refresh_token', 'client_id']), (event) =>
        assertHttpContract(handlers.refresh, 'refresh', event, seen, (body) => {
          if (typeof body === 'object' && body !== null && 'error' in body) codes.add(body.error);
        }),
      ),
      RUNS,
    );
    expect([...seen]).toEqual(expect.arrayContaining([400, 401]));
    // Not vacuous: the runs got past the form parser to each of the grant's own refusals.
    expect([...codes]).toEqual(expect.arrayContaining(['invalid_request', 'unsupported_grant_type', 'invalid_grant']));
  });

  it('POST /revoke with arbitrary RFC 7009 forms: the same contract', async () => {
    const seen = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(formEvent(['POST /revoke'], ['token', 'token_type_hint', 'client_id']), (event) => assertHttpContract(handlers.revoke, 'revoke', event, seen)),
      RUNS,
    );
    expect([...seen]).toEqual(expect.arrayContaining([200, 400, 401]));
  });

  it('the control session survived every form run', async () => {
    const res = await handlers.refresh(
      httpEvent('POST /refresh', { 'content-type': 'application/x-www-form-urlencoded' }, `grant_type=refresh_token&refresh_token=${control.refresh}`),
      lambdaContext('refresh'),
    );
    expect(res.statusCode, describeResult(res)).toBe(200);
    control = { ...control, refresh: String((JSON.parse(String(res.body)) as Record<string, unknown>)['refresh_token']) };
  });
});

// ---------------------------------------------------------------------------------------------
// Duplicate members

/** `name` as a JSON string literal with some of its characters written as `\uXXXX` escapes. */
function spelled(name: string, escapeMask: readonly boolean[], upperHex: boolean): string {
  const chars = [...name].map((char, i) => {
    if (escapeMask[i % Math.max(escapeMask.length, 1)] !== true) return char;
    const hex = (char.codePointAt(0) ?? 0).toString(16).padStart(4, '0');
    return `\\u${upperHex ? hex.toUpperCase() : hex}`;
  });
  return `"${chars.join('')}"`;
}

/** Genuine-looking values, so that without the duplicate most of these requests would succeed. */
const PLAUSIBLE: Record<string, fc.Arbitrary<unknown>> = {
  username: fc.constantFrom('demo', 'nobody'),
  password: fc.constant(PASSWORD),
  scope: fc.constantFrom('read', 'profile read'),
  token_delivery: fc.constant('body'),
  refresh_token: fc.oneof(wellFormedRefreshToken, fc.constant('not-a-token')),
  token: fc.oneof(wellFormedRefreshToken, fc.constant('no-such-token')),
  token_type_hint: fc.constantFrom('access_token', 'refresh_token'),
  everywhere: fc.boolean(),
  grant_type: fc.constant('refresh_token'),
  client_id: fc.constant('local-client'),
};

/**
 * A JSON object text naming one member twice: at the top level or inside a nested object, the
 * second (or first) spelling with arbitrary `\u` escapes, so it is the same name only once
 * unescaped (RFC 8259 §7).
 */
function duplicateBody(fields: readonly string[]): fc.Arbitrary<string> {
  return fc
    .record({
      present: fc.subarray([...fields]),
      values: fc.record(Object.fromEntries(fields.map((field) => [field, PLAUSIBLE[field] ?? fc.string({ maxLength: 10 })]))),
      duplicated: fc.constantFrom(...fields),
      otherValue: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
      masks: fc.tuple(fc.array(fc.boolean(), { maxLength: 6 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 6 })),
      upperHex: fc.boolean(),
      insertAt: fc.nat(),
      nested: fc.boolean(),
    })
    .map(({ present, values, duplicated, otherValue, masks: [firstMask, secondMask], upperHex, insertAt, nested }) => {
      const members = present.filter((field) => field !== duplicated).map((field) => `${JSON.stringify(field)}:${JSON.stringify(values[field])}`);
      const pair = [
        `${spelled(duplicated, firstMask, upperHex)}:${JSON.stringify(values[duplicated])}`,
        `${spelled(duplicated, secondMask, !upperHex)}:${JSON.stringify(otherValue) ?? 'null'}`,
      ];
      if (nested) {
        // The duplicate sits one level down: `{"scope":{"a":1,"a":2}, ...}`.
        const host = fields[insertAt % fields.length] ?? duplicated;
        const others = members.filter((member) => !member.startsWith(`${JSON.stringify(host)}:`));
        return `{${[...others, `${JSON.stringify(host)}:{${pair.join(',')}}`].join(',')}}`;
      }
      const at = insertAt % (members.length + 1);
      return `{${[...members.slice(0, at), pair[0], ...members.slice(at), pair[1]].join(',')}}`;
    });
}

describe('a body that names a member twice, in any spelling and at any depth, is 400 invalid_request', () => {
  const routes = [
    ['login', 'POST /login', ['username', 'password', 'scope', 'token_delivery']],
    ['login', 'POST /login/mfa', ['mfa_token', 'otp', 'recovery_code']],
    ['login', 'POST /login/passkey', ['response', 'challenge_id', 'scope', 'token_delivery']],
    ['refresh', 'POST /refresh', ['refresh_token']],
    ['revoke', 'POST /revoke', ['token', 'token_type_hint']],
    ['revoke', 'POST /logout-all', ['everywhere']],
    ['revoke', 'POST /sessions/revoke', ['sid']],
    ['revoke', 'POST /refresh/revoke', ['everywhere']],
  ] as const;

  it.each(routes)('%s handler, %s', async (name, routeKey, fields) => {
    await fc.assert(
      fc.asyncProperty(duplicateBody(fields), fc.uuid(), async (text, sub) => {
        const event = httpEvent(routeKey, { 'content-type': 'application/json', origin: ORIGIN }, text);
        // Logout-all sits behind the authorizer; a random user, never the demo user.
        const withCaller = { ...event, requestContext: { ...event.requestContext, authorizer: { lambda: { sub } } } };
        const result = await handlers[name](withCaller as unknown as APIGatewayProxyEventV2, lambdaContext(name));
        expect(result.statusCode, `${text}: ${describeResult(result)}`).toBe(400);
        expect(JSON.parse(String(result.body)), text).toMatchObject({
          error: 'invalid_request',
          error_description: expect.stringMatching(/more than once/),
        });
      }),
      { ...RUNS, numRuns: 100 },
    );
  });
});

/** `name` with some of its characters percent-encoded (RFC 3986 §2.1): the same name once decoded. */
function percentSpelled(name: string, mask: readonly boolean[], upperHex: boolean): string {
  return [...name]
    .map((char, i) => {
      if (mask[i % Math.max(mask.length, 1)] !== true) return char;
      const hex = (char.codePointAt(0) ?? 0).toString(16).padStart(2, '0');
      return `%${upperHex ? hex.toUpperCase() : hex}`;
    })
    .join('');
}

/**
 * A form naming one parameter twice (RFC 6749 §3.2: "MUST NOT be included more than once"), the
 * two spellings percent-encoded differently, either value possibly empty, anywhere in the body.
 */
function duplicateForm(fields: readonly string[]): fc.Arbitrary<string> {
  const plausible = (field: string) => (PLAUSIBLE[field] ?? fc.string({ maxLength: 10 })).map(formValue);
  return fc
    .record({
      present: fc.subarray([...fields]),
      values: fc.record(Object.fromEntries(fields.map((field) => [field, plausible(field)]))),
      duplicated: fc.constantFrom(...fields, 'extra'),
      otherValue: fc.oneof(fc.constant(''), fc.string({ maxLength: 20 })),
      masks: fc.tuple(fc.array(fc.boolean(), { maxLength: 6 }), fc.array(fc.boolean(), { maxLength: 6 })),
      upperHex: fc.boolean(),
      insertAt: fc.nat(),
      swap: fc.boolean(),
    })
    .map(({ present, values, duplicated, otherValue, masks: [firstMask, secondMask], upperHex, insertAt, swap }) => {
      const value = (field: string) => encodeURIComponent(values[field] ?? 'x');
      const members = present.filter((field) => field !== duplicated).map((field) => `${field}=${value(field)}`);
      const first = `${percentSpelled(duplicated, firstMask, upperHex)}=${value(duplicated)}`;
      const second = `${percentSpelled(duplicated, secondMask, !upperHex)}=${encodeURIComponent(otherValue)}`;
      const [a, b] = swap ? [second, first] : [first, second];
      const at = insertAt % (members.length + 1);
      return [...members.slice(0, at), a, ...members.slice(at), b].join('&');
    });
}

describe('a form that names a parameter twice, in any spelling, is 400 invalid_request', () => {
  const routes = [
    ['refresh', 'POST /refresh', ['grant_type', 'refresh_token', 'client_id']],
    ['revoke', 'POST /revoke', ['token', 'token_type_hint', 'client_id']],
  ] as const;

  it.each(routes)('%s handler, %s', async (name, routeKey, fields) => {
    await fc.assert(
      fc.asyncProperty(duplicateForm(fields), async (text) => {
        const event = httpEvent(routeKey, { 'content-type': 'application/x-www-form-urlencoded', origin: ORIGIN }, text);
        const result = await handlers[name](event, lambdaContext(name));
        expect(result.statusCode, `${text}: ${describeResult(result)}`).toBe(400);
        expect(JSON.parse(String(result.body)), text).toMatchObject({
          error: 'invalid_request',
          error_description: expect.stringMatching(/more than once/),
        });
      }),
      { ...RUNS, numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The authorizer

const methodArn = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET/whoami', 'GET/admin', 'POST/orders/1', 'DELETE/x/y/z').map((r) => `arn:aws:execute-api:us-east-1:111122223333:fuzzapi/prod/${r}`) },
  { weight: 1, arbitrary: fc.constantFrom('arn:aws:execute-api:us-east-1:111122223333:fuzzapi/prod/*', 'arn:aws:execute-api:x', 'arn:aws:s3:::bucket/a/b', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 5, ['arn']) },
);

const b64json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** JWS-shaped forgeries: the attack classes of test/unit/verifier/attacks.test.ts, with valid-looking claims. */
const forgedJwt = fc
  .record({
    alg: fc.constantFrom<unknown>('none', 'None', 'HS256', 'ES256', 'RS256', 'ES384', 'PS256', '', null),
    typ: fc.constantFrom<unknown>('at+jwt', 'JWT', 'application/at+jwt', undefined),
    kid: fc.oneof(fc.constant('genuine'), fc.string({ maxLength: 30 }), fc.constantFrom<unknown>(undefined, 7)),
    extra: fc.constantFrom<Record<string, unknown>>(
      {},
      { jwk: { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' } },
      { jku: 'https://evil.example/jwks.json' },
      { x5u: 'https://evil.example/cert' },
      { x5c: ['MIIB'] },
      { crit: ['exp'] },
      { b64: false, crit: ['b64'] },
    ),
    claims: fc.record(
      {
        iss: fc.constantFrom<unknown>('ISSUER', 'https://evil.example'),
        aud: fc.constantFrom<unknown>('kms-jwt-auth-local', ['kms-jwt-auth-local'], 'other'),
        sub: fc.constantFrom<unknown>('SUB', 'admin'),
        exp: fc.constantFrom<unknown>(4_102_444_800, 1, 'never', null),
        iat: fc.constantFrom<unknown>(1_700_000_000, 4_102_444_800),
        nbf: fc.constantFrom<unknown>(undefined, 4_102_444_800),
        scope: fc.constantFrom<unknown>('admin', 'profile read', 7),
        jti: fc.uuid(),
        sid: fc.uuid(),
        client_id: fc.constant('local-client'),
      },
      { requiredKeys: [] },
    ),
    signature: fc.oneof(fc.constant(''), fc.uint8Array({ minLength: 64, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64url')), fc.string({ maxLength: 40 })),
    useGenuineSignature: fc.boolean(),
  })
  .map(({ alg, typ, kid, extra, claims, signature, useGenuineSignature }) => {
    const [genuineHeader = '', , genuineSignature = ''] = genuine.access.split('.');
    const realHeader = JSON.parse(Buffer.from(genuineHeader, 'base64url').toString('utf8')) as Record<string, unknown>;
    const header = { alg, typ, kid: kid === 'genuine' ? realHeader['kid'] : kid, ...extra };
    const payload = {
      ...claims,
      iss: claims.iss === 'ISSUER' ? service.url : claims.iss,
      sub: claims.sub === 'SUB' ? genuine.sub : claims.sub,
    };
    return `${b64json(header)}.${b64json(payload)}.${useGenuineSignature ? genuineSignature : signature}`;
  });

/** Header and payload of the genuine token with another signature, or the genuine one re-encoded. */
const tamperedGenuine = fc.oneof(
  mutated(() => genuine.access),
  fc.constantFrom('payload-swap', 'padding', 'whitespace', 'extra-segment').map((kind) => {
    const [h = '', p = '', s = ''] = genuine.access.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (kind === 'payload-swap') return `${h}.${b64json({ ...claims, scope: 'admin profile read' })}.${s}`;
    if (kind === 'padding') return `${h}.${p}=.${s}`;
    if (kind === 'whitespace') return ` ${genuine.access}`;
    return `${genuine.access}.${s}`;
  }),
);

const fakeToken = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 120 }) },
  { weight: 1, arbitrary: fc.integer({ min: 4_000, max: 20_000 }).map((n) => 'a'.repeat(n)) },
  { weight: 4, arbitrary: forgedJwt },
  { weight: 2, arbitrary: tamperedGenuine },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,50}\.[A-Za-z0-9_-]{1,80}\.[A-Za-z0-9_-]{0,90}$/) },
);

const authorizationValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'BEARER ', 'Bearer  ', 'Basic ', 'Bearer\t', ''), fakeToken).map(([scheme, token]) => `${scheme}${token}`) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, null, 42, ['Bearer x'], {}) },
);

const authHeaders: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      authorization: authorizationValue,
      Authorization: authorizationValue,
      other: fc.string({ maxLength: 30 }),
    },
    { requiredKeys: [] },
  ),
  fc.constantFrom<unknown>(undefined, null, 'Authorization: Bearer x', []),
);

const restTokenEvent = fc.record(
  { type: fc.constant('TOKEN'), authorizationToken: authorizationValue, methodArn },
  { requiredKeys: ['type'] },
);

const restRequestEvent = fc.record(
  {
    type: fc.constant('REQUEST'),
    methodArn,
    headers: authHeaders,
    multiValueHeaders: fc.oneof(
      fc.constantFrom<unknown>(undefined, null),
      authorizationValue.map((value) => ({ Authorization: [value] })),
      fc.tuple(authorizationValue, authorizationValue).map(([a, b]) => ({ authorization: [a, b] })),
    ),
    httpMethod: fc.constantFrom('GET', 'POST'),
    resource: fc.constant('/whoami'),
  },
  { requiredKeys: ['type'] },
);

const httpV2Event = fc.record(
  {
    version: fc.constant('2.0'),
    type: fc.constant('REQUEST'),
    routeArn: methodArn,
    identitySource: fc.array(fc.string({ maxLength: 30 }), { maxLength: 2 }),
    routeKey: fc.constantFrom('GET /whoami', 'GET /admin', '$default'),
    headers: authHeaders,
    requestContext: requestContext,
  },
  { requiredKeys: ['version', 'type'] },
);

const anyAuthorizerEvent: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: restTokenEvent },
  { weight: 3, arbitrary: restRequestEvent },
  { weight: 3, arbitrary: httpV2Event },
  { weight: 1, arbitrary: fc.anything() },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(null, undefined, 0, '', 'TOKEN', [], { type: 'TOKEN' }, { type: 'REQUEST', version: '2.0' }) },
);

/** True when the authorizer's answer lets the request through. */
function allows(result: unknown): boolean {
  if (typeof result !== 'object' || result === null) return false;
  if ('isAuthorized' in result) return result.isAuthorized === true;
  const policy = 'policyDocument' in result ? result.policyDocument : undefined;
  const text = JSON.stringify(policy ?? null);
  return text.includes('"Effect":"Allow"');
}

describe('the authorizer answers arbitrary events by its contract', () => {
  it('resolves to a deny or throws exactly Error("Unauthorized") for arbitrary REST TOKEN, REST REQUEST and HTTP API 2.0 events, never allowing a forged token', async () => {
    await fc.assert(
      fc.asyncProperty(anyAuthorizerEvent, async (event) => {
        let result: unknown;
        try {
          result = await authorizer(event);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).message).toBe('Unauthorized');
          return;
        }
        expect(allows(result), `allowed: ${describeResult(result)}`).toBe(false);
      }),
      { numRuns: 300, endOnFailure: true },
    );
  });

  it('decide() never throws, and answers every forged or malformed input with a 401 decision', async () => {
    await fc.assert(
      fc.asyncProperty(anyAuthorizerEvent, async (event) => {
        const decision = await decide(event);
        expect(decision).toMatchObject({ effect: 'deny', status: 401, error: 'invalid_token' });
      }),
      { numRuns: 200, endOnFailure: true, seed: SEED },
    );
  });

  it('allows the genuine token in every event format with a valid ARN, and refuses it everywhere else only with Unauthorized or a deny', async () => {
    const arn = (route: string): string => `arn:aws:execute-api:us-east-1:111122223333:fuzzapi/prod/${route}`;
    // Not `genuine`: the refresh property may have ended that session by reuse, as it should.
    const bearer = `Bearer ${control.access}`;
    const events: unknown[] = [
      { type: 'TOKEN', authorizationToken: bearer, methodArn: arn('GET/whoami') },
      { type: 'REQUEST', methodArn: arn('GET/whoami'), headers: { Authorization: bearer } },
      { version: '2.0', type: 'REQUEST', routeArn: arn('GET/whoami'), headers: { authorization: bearer } },
    ];
    for (const event of events) expect(allows(await authorizer(event))).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.record({ type: fc.constantFrom('TOKEN', 'REQUEST'), methodArn, routeArn: methodArn, version: fc.constantFrom<unknown>('2.0', undefined) }, { requiredKeys: [] }),
        async (shape) => {
          const event = { ...shape, authorizationToken: bearer, headers: { authorization: bearer } };
          try {
            await authorizer(event);
          } catch (error) {
            expect((error as Error).message).toBe('Unauthorized');
          }
        },
      ),
      { numRuns: 100, endOnFailure: true },
    );
  });
});
