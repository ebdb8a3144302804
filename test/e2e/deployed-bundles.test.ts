/**
 * The artifacts that deploy are the ones tested: the CDK app is synthesized as `cdk synth` runs it,
 * and each function's code asset (the minified `index.mjs` the CLI zips and uploads) runs in its own
 * fresh Node 24 process the way the Lambda runtime loads it, with the function's environment from
 * the template (CloudFormation references resolved to a table in DynamoDB Local and a key in the
 * KMS stand-in, both created from the template's own properties). API Gateway events go in,
 * results come out: login, refresh, reuse, revoke, logout-all, JWKS, and the authorizer for HTTP
 * API payload 2.0, REST TOKEN and REST REQUEST events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK, type JSONWebKeySet } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMSClient } from '@aws-sdk/client-kms';
import { decodeProtectedHeader } from 'jose';
import { rotateKey } from '../../cli/key-rotation.ts';
import { createKeyOperatorDeps, createOperatorDeps } from '../../cli/wiring.ts';
import { createUser } from '../../cli/operations.ts';
import { startDynamoDbLocal, type DynamoDbLocal } from '../../local/dynamodb-local.ts';
import { policyAllows } from '../../local/gateway.ts';
import { startKmsStandin, type KmsStandin } from '../../local/kms-standin/server.ts';
import { DeployedStack, synthesizeApp } from '../support/deployed-stack.ts';
import { authorizerEvent, proxyEventV2, type AuthorizerFixture, type ProxyRequest } from '../support/events.ts';
import { LambdaProcess, type Invocation, type LambdaFunctionSpec } from '../support/lambda-process.ts';

const REGION = 'eu-west-1';
const SYNTH_TIMEOUT_MS = 120_000;
const PASSWORD = 'deployed-bundles-Passw0rd-4e7a';
const USER = 'bundle-user';
const TOTP_USER = 'bundle-totp-user';
const LOGOUT_USER = 'bundle-logout-user';
/** Lambda always runs with temporary credentials: a session token is part of every signed request. */
const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'ASIAE2EBUNDLETEST000',
  AWS_SECRET_ACCESS_KEY: 'e2e-bundle-test-secret-not-a-real-key00',
  AWS_SESSION_TOKEN: 'e2e-bundle-test-session-token',
};

const scratch = mkdtempSync(join(tmpdir(), 'kms-jwt-auth-bundles-'));
let dynamoLocal: DynamoDbLocal | undefined;
let kms: KmsStandin | undefined;
let dynamo: DynamoDBClient | undefined;
let stack: DeployedStack;
let aws: Record<string, string>;
const fn = {} as Record<'login' | 'refresh' | 'revoke' | 'jwks' | 'authorizer' | 'account', LambdaFunctionSpec>;
const running: LambdaProcess[] = [];
let login: LambdaProcess;
let refresh: LambdaProcess;
let revoke: LambdaProcess;
let account: LambdaProcess;
let jwks: LambdaProcess;
let authorizer: LambdaProcess;
/** Every token a bundle handed out, to check that no log line repeats one. */
const issuedTokens: string[] = [];
const timings: Record<string, number> = {};

async function cold(spec: LambdaFunctionSpec): Promise<LambdaProcess> {
  const environment = await LambdaProcess.start(spec, aws);
  running.push(environment);
  return environment;
}

beforeAll(async () => {
  const started = Date.now();
  // Synthesis (esbuild bundling) and the emulators start side by side.
  const synthesized = synthesizeApp(join(scratch, 'cdk.out'), SYNTH_TIMEOUT_MS).then((assembly) => {
    timings['synthMs'] = Date.now() - started;
    return assembly;
  });
  const dynamoStarted = startDynamoDbLocal().then((d) => (dynamoLocal = d));
  const kmsStarted = startKmsStandin({ region: REGION }).then((k) => (kms = k));
  // Settled together, so that afterAll stops an emulator that was still starting when another step failed.
  await Promise.allSettled([synthesized, dynamoStarted, kmsStarted]);
  const [assembly, dynamoReady, kmsReady] = await Promise.all([synthesized, dynamoStarted, kmsStarted]);

  dynamo = new DynamoDBClient({
    endpoint: dynamoReady.endpoint,
    region: REGION,
    credentials: { accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY },
  });
  stack = await DeployedStack.deploy(assembly, { dynamo, kms: kmsReady, region: REGION });
  aws = { AWS_REGION: REGION, ...CREDENTIALS, AWS_ENDPOINT_URL_DYNAMODB: dynamoReady.endpoint, AWS_ENDPOINT_URL_KMS: kmsReady.endpoint };
  fn.login = stack.routeFunction('POST /login');
  fn.refresh = stack.routeFunction('POST /refresh');
  fn.revoke = stack.routeFunction('POST /revoke');
  fn.jwks = stack.routeFunction('GET /.well-known/jwks.json');
  fn.authorizer = stack.routeAuthorizer('POST /logout-all');
  fn.account = stack.routeFunction('GET /account');

  // Users as the operator CLI creates them, in the deployed table.
  const operator = createOperatorDeps(fn.login.environment, dynamo);
  await createUser(operator, USER, PASSWORD, ['profile', 'read']);
  await createUser(operator, LOGOUT_USER, PASSWORD, ['profile']);

  const starting = [cold(fn.login), cold(fn.refresh), cold(fn.revoke), cold(fn.jwks), cold(fn.authorizer), cold(fn.account)] as const;
  await Promise.allSettled(starting);
  [login, refresh, revoke, jwks, authorizer, account] = await Promise.all(starting);
  timings['setupMs'] = Date.now() - started;
}, SYNTH_TIMEOUT_MS + 60_000);

afterAll(async () => {
  await Promise.allSettled(running.map((environment) => environment.stop()));
  dynamo?.destroy();
  await Promise.allSettled([dynamoLocal?.stop(), kms?.close()]);
  rmSync(scratch, { recursive: true, force: true });
  console.info('deployed bundles:', JSON.stringify({ ...timings, initMs: Object.fromEntries(running.map((e) => [e.spec.name, e.initMs])) }));
});

// ---------------------------------------------------------------------------------------------
// Calls, as API Gateway makes them.

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Record<string, unknown>;
}

async function http(environment: LambdaProcess, routeKey: string, request: ProxyRequest = {}): Promise<Reply> {
  const result = await environment.call(proxyEventV2(routeKey, request));
  if (typeof result !== 'object' || result === null) throw new Error(`not a proxy result: ${JSON.stringify(result)}`);
  const { statusCode, headers, body } = result as { statusCode?: unknown; headers?: unknown; body?: unknown };
  if (typeof statusCode !== 'number') throw new Error(`no statusCode: ${JSON.stringify(result)}`);
  const parsed: unknown = typeof body === 'string' && body !== '' ? JSON.parse(body) : {};
  for (const token of ['access_token', 'refresh_token']) {
    const value = (parsed as Record<string, unknown>)[token];
    if (typeof value === 'string') issuedTokens.push(value);
  }
  return { status: statusCode, headers: { ...(headers as Record<string, string>) }, body: parsed as Record<string, unknown> };
}

interface Tokens {
  readonly access: string;
  readonly refresh: string;
}

function tokensOf(reply: Reply): Tokens {
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const { access_token: access, refresh_token: refreshToken } = reply.body;
  if (typeof access !== 'string' || typeof refreshToken !== 'string') throw new Error(`no tokens in ${JSON.stringify(reply.body)}`);
  return { access, refresh: refreshToken };
}

const signIn = async (username = USER): Promise<Tokens> =>
  tokensOf(await http(login, 'POST /login', { json: { username, password: PASSWORD } }));

let liveSession: Promise<Tokens> | undefined;
/** One session that no test ends, for the checks that only need a valid token (a login is Argon2id work). */
const live = (): Promise<Tokens> => (liveSession ??= signIn());

const FORMATS: readonly { readonly name: string; readonly fixture: AuthorizerFixture }[] = [
  { name: 'an HTTP API payload 2.0 event', fixture: 'http-v2-request-whoami' },
  { name: 'a REST API TOKEN event', fixture: 'rest-token' },
  { name: 'a REST API REQUEST event', fixture: 'rest-request-whoami' },
];

type Decision = { readonly effect: 'allow'; readonly context: Record<string, unknown> } | { readonly effect: 'deny'; readonly reason: string };

/** What API Gateway makes of the authorizer's answer for this event: allow (with context) or why not. */
function decisionOf(event: Record<string, unknown>, invocation: Invocation): Decision {
  if (!invocation.ok) return { effect: 'deny', reason: invocation.errorMessage };
  const result = invocation.result as Record<string, unknown>;
  const context = typeof result['context'] === 'object' && result['context'] !== null ? (result['context'] as Record<string, unknown>) : {};
  if ('isAuthorized' in result) return result['isAuthorized'] === true ? { effect: 'allow', context } : { effect: 'deny', reason: 'Forbidden' };
  const arn = event['methodArn'] ?? event['routeArn'];
  if (typeof arn === 'string' && policyAllows(result['policyDocument'], arn)) {
    expect(result['principalId']).toBe(context['sub']);
    return { effect: 'allow', context };
  }
  return { effect: 'deny', reason: 'Forbidden' };
}

async function authorize(fixture: AuthorizerFixture, authorization: string, environment = authorizer): Promise<Decision> {
  const event = authorizerEvent(fixture, authorization);
  return decisionOf(event, await environment.invoke(event));
}

async function verifyAccessToken(token: string): Promise<Record<string, unknown>> {
  const keys = (await http(jwks, 'GET /.well-known/jwks.json')).body as unknown as JSONWebKeySet;
  const env = fn.login.environment;
  const { payload } = await jwtVerify(token, createLocalJWKSet(keys), {
    issuer: env['ISSUER'] ?? '',
    audience: env['AUDIENCE'] ?? '',
    typ: 'at+jwt',
    algorithms: [env['SIGNING_ALG'] ?? ''],
  });
  return payload;
}

// ---------------------------------------------------------------------------------------------

describe('the synthesized functions', () => {
  it('run their own code asset on the Node 24 runtime the template names, with its environment resolved to the local table and key', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
    for (const spec of Object.values(fn)) {
      expect(spec.runtime).toBe('nodejs24.x');
      expect(spec.handler).toBe('index.handler');
      expect(spec.codeDir.startsWith(scratch)).toBe(true);
    }
    const [table] = stack.resourcesOfType('AWS::DynamoDB::Table');
    const [key] = stack.resourcesOfType('AWS::KMS::Key').filter((id) => stack.attribute(id, 'Arn') !== fn.login.environment['MFA_KEY_ID']);
    expect(fn.login.environment['MFA_KEY_ID']).toMatch(/^arn:aws:kms:/);
    expect(fn.login.environment['TABLE_NAME']).toBe(stack.attribute(table ?? '', 'Ref'));
    expect(fn.login.environment['SIGNING_KEY_ID']).toBe(stack.attribute(key ?? '', 'Arn'));
    expect(fn.authorizer.environment['VERIFY_KEY_IDS']).toBe(stack.attribute(key ?? '', 'Arn'));
    expect(fn.authorizer.environment['ISSUER']).toMatch(/^https:\/\/\w+\.execute-api\.eu-west-1\.amazonaws\.com$/);
    // The logout-all route is served by the revoke function.
    expect(stack.routeFunction('POST /logout-all').name).toBe(fn.revoke.name);
  });
});

describe('GET /.well-known/jwks.json', () => {
  it('publishes the KMS public key as a cacheable JWK whose kid is its RFC 7638 thumbprint', async () => {
    const reply = await http(jwks, 'GET /.well-known/jwks.json');
    expect(reply.status).toBe(200);
    expect(reply.headers['Cache-Control'] ?? reply.headers['cache-control']).toMatch(/max-age=\d+/);
    const keys = reply.body['keys'] as JWK[];
    expect(keys).toHaveLength(1);
    const { kid, alg, use, ...publicMembers } = keys[0] ?? {};
    // The stack's default: RS256 from a KMS RSA_2048 key.
    expect(publicMembers).toMatchObject({ kty: 'RSA', e: 'AQAB' });
    expect(Buffer.from(String(publicMembers.n), 'base64url')).toHaveLength(256);
    for (const privateMember of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(publicMembers).not.toHaveProperty(privateMember);
    expect([alg, use]).toEqual(['RS256', 'sig']);
    expect(kid).toBe(await calculateJwkThumbprint(publicMembers, 'sha256'));
  });
});

describe('POST /login', () => {
  it('returns an RFC 6749 token response whose access token verifies against the published keys (checked with jose)', async () => {
    const reply = await http(login, 'POST /login', { json: { username: USER, password: PASSWORD } });
    expect(reply.status).toBe(200);
    expect(reply.headers['Cache-Control'] ?? reply.headers['cache-control']).toBe('no-store');
    expect(reply.body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'profile read' });
    const claims = await verifyAccessToken(tokensOf(reply).access);
    expect(claims).toMatchObject({ client_id: fn.login.environment['CLIENT_ID'], scope: 'profile read' });
  });

  it('answers a wrong password with 401 invalid_grant', async () => {
    const reply = await http(login, 'POST /login', { json: { username: USER, password: 'not-the-Passw0rd-at-all' } });
    expect(reply.status).toBe(401);
    expect(reply.body['error']).toBe('invalid_grant');
  });

  it('answers a body that is not JSON with 400 invalid_request', async () => {
    const event = proxyEventV2('POST /login', { json: {} });
    const result = (await login.call({ ...event, body: '{"username":' })) as { statusCode: number; body: string };
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request' });
  });
});

describe('passkey sign-in (the login bundle loads SimpleWebAuthn on the first passkey request)', () => {
  it('offers sign-in options for the relying party derived from the issuer, and refuses an assertion for a challenge it never issued', async () => {
    const options = await http(login, 'POST /login/passkey/options');
    expect(options.status).toBe(200);
    expect(options.body).toMatchObject({ rpId: new URL(String(fn.login.environment['ISSUER'])).hostname, userVerification: 'required' });
    const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge: 'A'.repeat(43), origin: 'https://x.example' })).toString('base64url');
    const response = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', clientExtensionResults: {}, response: { clientDataJSON, authenticatorData: 'AAAA', signature: 'AAAA', userHandle: 'AAAA' } };
    const refused = await http(login, 'POST /login/passkey', { json: { response } });
    expect(refused.status).toBe(401);
    expect(refused.body['error']).toBe('invalid_grant');
  });
});

describe('POST /refresh', () => {
  it('rotates: returns a new refresh token and a new access token for the same session', async () => {
    const first = await signIn();
    const second = tokensOf(await http(refresh, 'POST /refresh', { json: { refresh_token: first.refresh } }));
    expect(second.refresh).not.toBe(first.refresh);
    const [before, after] = await Promise.all([verifyAccessToken(first.access), verifyAccessToken(second.access)]);
    expect(after['sid']).toBe(before['sid']);
    expect(after['jti']).not.toBe(before['jti']);
  });

  it('treats a superseded refresh token as reuse: 401, the whole family revoked, its access tokens refused at once', async () => {
    // Superseded two generations ago: reuse even within the refresh grace period.
    const first = await signIn();
    const between = tokensOf(await http(refresh, 'POST /refresh', { json: { refresh_token: first.refresh } }));
    const second = tokensOf(await http(refresh, 'POST /refresh', { json: { refresh_token: between.refresh } }));
    expect((await authorize('http-v2-request-whoami', `Bearer ${second.access}`)).effect).toBe('allow');

    const reused = await http(refresh, 'POST /refresh', { json: { refresh_token: first.refresh } });
    expect(reused.status).toBe(401);
    expect(reused.body['error']).toBe('invalid_grant');
    const successor = await http(refresh, 'POST /refresh', { json: { refresh_token: second.refresh } });
    expect(successor.status).toBe(401);
    for (const { fixture } of FORMATS) {
      expect(await authorize(fixture, `Bearer ${second.access}`)).toEqual({ effect: 'deny', reason: 'Unauthorized' });
    }
  });
});

describe('POST /revoke', () => {
  it('revokes a refresh token: 200, the token no longer refreshes, and the session access token is refused', async () => {
    const tokens = await signIn();
    const reply = await http(revoke, 'POST /revoke', { json: { token: tokens.refresh, token_type_hint: 'refresh_token' } });
    expect(reply.status).toBe(200);
    expect((await http(refresh, 'POST /refresh', { json: { refresh_token: tokens.refresh } })).status).toBe(401);
    for (const { fixture } of FORMATS) {
      expect(await authorize(fixture, `Bearer ${tokens.access}`)).toEqual({ effect: 'deny', reason: 'Unauthorized' });
    }
  });
});

describe('the authorizer', () => {
  describe.each(FORMATS)('with $name', ({ fixture }) => {
    it('allows a valid access token, with sub, scope, sid and jti in the context', async () => {
      const tokens = await live();
      const claims = await verifyAccessToken(tokens.access);
      const decision = await authorize(fixture, `Bearer ${tokens.access}`);
      expect(decision).toEqual({ effect: 'allow', context: expect.objectContaining({ sub: claims['sub'], scope: 'profile read', sid: claims['sid'], jti: claims['jti'] }) });
    });

    it.each([
      ['garbage', 'Bearer not-a-token'],
      ['a token with its signature cut off', 'SIGNATURELESS'],
      ['no bearer scheme', 'JUST-THE-TOKEN'],
    ])('refuses %s as Unauthorized (401)', async (_name, authorization) => {
      const tokens = await live();
      const value =
        authorization === 'SIGNATURELESS'
          ? `Bearer ${tokens.access.slice(0, tokens.access.lastIndexOf('.') + 1)}`
          : authorization === 'JUST-THE-TOKEN'
            ? tokens.access
            : authorization;
      expect(await authorize(fixture, value)).toEqual({ effect: 'deny', reason: 'Unauthorized' });
    });
  });

  it('refuses every access token of a user after POST /logout-all (reached through the authorizer, as API Gateway routes it), and a new login works', async () => {
    const [first, other] = [await signIn(LOGOUT_USER), await signIn(LOGOUT_USER)];
    const allowed = await authorize('http-v2-request-whoami', `Bearer ${first.access}`);
    if (allowed.effect !== 'allow') throw new Error(`expected allow, got ${JSON.stringify(allowed)}`);
    const reply = await http(revoke, 'POST /logout-all', {
      headers: { authorization: `Bearer ${first.access}` },
      authorizerContext: allowed.context,
    });
    expect(reply.status).toBe(200);
    expect(reply.body['revoked_sessions']).toBe(2);
    for (const { fixture } of FORMATS) {
      for (const tokens of [first, other]) {
        expect(await authorize(fixture, `Bearer ${tokens.access}`)).toEqual({ effect: 'deny', reason: 'Unauthorized' });
      }
    }
    expect((await http(refresh, 'POST /refresh', { json: { refresh_token: other.refresh } })).status).toBe(401);
    // Logout-everywhere refuses tokens with auth_time <= its second (JWT times are whole seconds),
    // so a new login counts from the next second on; within the same one it answers a retryable 503.
    const loggedOutSecond = Math.floor(Date.now() / 1000);
    while (Math.floor(Date.now() / 1000) <= loggedOutSecond) await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await signIn(LOGOUT_USER);
    expect((await authorize('rest-token', `Bearer ${again.access}`)).effect).toBe('allow');
  });

  it('GET /sessions and POST /sessions/revoke (the revoke function, behind the authorizer): a user lists and ends one of their own sessions, whose tokens then stop', async () => {
    const [keep, end] = [await signIn(), await signIn()];
    const allowed = await authorize('http-v2-request-whoami', `Bearer ${keep.access}`);
    const ending = await authorize('http-v2-request-whoami', `Bearer ${end.access}`);
    if (allowed.effect !== 'allow' || ending.effect !== 'allow') throw new Error('expected both tokens to be allowed');
    const listed = await http(revoke, 'GET /sessions', { headers: { authorization: `Bearer ${keep.access}` }, authorizerContext: allowed.context });
    expect(listed.status).toBe(200);
    const sessions = listed.body['sessions'] as { sid: string; current: boolean }[];
    expect(sessions.find((s) => s.current)?.sid).toBe(allowed.context['sid']);
    expect(sessions.map((s) => s.sid)).toContain(ending.context['sid']);
    const ended = await http(revoke, 'POST /sessions/revoke', {
      headers: { authorization: `Bearer ${keep.access}` },
      authorizerContext: allowed.context,
      json: { sid: ending.context['sid'] },
    });
    expect(ended.status).toBe(200);
    expect(await authorize('rest-request-whoami', `Bearer ${end.access}`)).toEqual({ effect: 'deny', reason: 'Unauthorized' });
    expect((await http(refresh, 'POST /refresh', { json: { refresh_token: end.refresh } })).status).toBe(401);
    expect((await authorize('rest-request-whoami', `Bearer ${keep.access}`)).effect).toBe('allow');
  });

  it('GET /account (the account function, behind the authorizer) names the signed-in user, and nothing secret', async () => {
    const tokens = await signIn();
    const allowed = await authorize('http-v2-request-whoami', `Bearer ${tokens.access}`);
    if (allowed.effect !== 'allow') throw new Error(`expected allow, got ${JSON.stringify(allowed)}`);
    const reply = await http(account, 'GET /account', { headers: { authorization: `Bearer ${tokens.access}` }, authorizerContext: allowed.context });
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ username: USER, sub: allowed.context['sub'], scopes: ['profile', 'read'], mfa: { totp: false } });
    expect(JSON.stringify(reply.body)).not.toContain('argon2');
  });

  it('POST /account/password and POST /account/delete (the bundled account function): the other session ends, this one stays, then the account goes', async () => {
    const operator = createOperatorDeps(fn.login.environment, dynamo);
    const username = 'bundle-account-user';
    await createUser(operator, username, PASSWORD, ['profile']);
    const [mine, other] = [await signIn(username), await signIn(username)];
    const context = async (tokens: Tokens): Promise<Record<string, unknown>> => {
      const allowed = await authorize('http-v2-request-whoami', `Bearer ${tokens.access}`);
      if (allowed.effect !== 'allow') throw new Error(`expected allow, got ${JSON.stringify(allowed)}`);
      return allowed.context;
    };
    const newPassword = 'bundle account second passphrase';
    const changed = await http(account, 'POST /account/password', {
      json: { current_password: PASSWORD, new_password: newPassword },
      authorizerContext: await context(mine),
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body).toEqual({ sessions_ended: 1 });
    expect((await authorize('http-v2-request-whoami', `Bearer ${other.access}`)).effect).toBe('deny');
    const deleted = await http(account, 'POST /account/delete', { json: { password: newPassword }, authorizerContext: await context(mine) });
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
    expect((await authorize('http-v2-request-whoami', `Bearer ${mine.access}`)).effect).toBe('deny');
    expect((await http(login, 'POST /login', { json: { username, password: newPassword } })).status).toBe(401);
  });

  it('TOTP: the account bundle enrols and confirms (KMS Encrypt/Decrypt under MFA_KEY_ID), the login bundle asks for and checks the code', async () => {
    await createUser(createOperatorDeps(fn.login.environment, dynamo), TOTP_USER, PASSWORD, ['profile']);
    const tokens = await signIn(TOTP_USER);
    const allowed = await authorize('http-v2-request-whoami', `Bearer ${tokens.access}`);
    if (allowed.effect !== 'allow') throw new Error(`expected allow, got ${JSON.stringify(allowed)}`);
    const asCaller = (json: unknown) => ({ json, headers: { authorization: `Bearer ${tokens.access}` }, authorizerContext: allowed.context });
    const enrol = await http(account, 'POST /mfa/totp/enroll', asCaller({}));
    expect(enrol.status, JSON.stringify(enrol.body)).toBe(200);
    const secret = Secret.fromBase32(String(enrol.body['secret']));
    const codeAt = (offset: number) => TOTP.generate({ secret, timestamp: Date.now() + offset * 30_000 });
    expect((await http(account, 'POST /mfa/totp/confirm', asCaller({ otp: codeAt(-1) }))).status).toBe(200);
    const first = await http(login, 'POST /login', { json: { username: TOTP_USER, password: PASSWORD } });
    expect(first.status).toBe(401);
    expect(first.body['error']).toBe('mfa_required');
    const second = await http(login, 'POST /login/mfa', { json: { mfa_token: first.body['mfa_token'], otp: codeAt(0) } });
    const payload = await verifyAccessToken(tokensOf(second).access);
    expect(payload['amr']).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('in a fresh execution environment (cold start) reads revocations from the table, not from memory', async () => {
    const [revoked, valid] = [await signIn(), await live()];
    expect((await http(revoke, 'POST /revoke', { json: { token: revoked.refresh } })).status).toBe(200);
    const fresh = await cold(fn.authorizer);
    expect(await authorize('rest-request-whoami', `Bearer ${revoked.access}`, fresh)).toEqual({ effect: 'deny', reason: 'Unauthorized' });
    expect((await authorize('rest-request-whoami', `Bearer ${valid.access}`, fresh)).effect).toBe('allow');
  });
});

describe('a key rotation reaches the running bundles without a redeploy', () => {
  it('login signs with the new key at once; the authorizer accepts tokens of the old and the new key; JWKS lists both', async () => {
    const before = await signIn();
    const kms = new KMSClient({
      endpoint: aws['AWS_ENDPOINT_URL_KMS'] ?? '',
      region: REGION,
      credentials: { accessKeyId: CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    try {
      if (dynamo === undefined) throw new Error('no DynamoDB client');
      const rotated = await rotateKey(createKeyOperatorDeps(fn.login.environment, dynamo, kms), {
        currentKeyId: fn.login.environment['SIGNING_KEY_ID'],
      });
      const after = await signIn();
      expect(decodeProtectedHeader(after.access).kid).toBe(rotated.signing.kid);
      expect(decodeProtectedHeader(before.access).kid).not.toBe(rotated.signing.kid);
      for (const tokens of [before, after]) expect((await authorize('http-v2-request-whoami', `Bearer ${tokens.access}`)).effect).toBe('allow');
      const kids = ((await http(jwks, 'GET /.well-known/jwks.json')).body['keys'] as JWK[]).map((key) => key.kid);
      expect(kids).toEqual([rotated.signing.kid, decodeProtectedHeader(before.access).kid]);
      await verifyAccessToken(after.access);
    } finally {
      kms.destroy();
    }
  });
});

describe('the functions logs', () => {
  it('never contain the password or a whole token that any function handed out', () => {
    const lines = running.flatMap((environment) => environment.logLines);
    expect(lines.length).toBeGreaterThan(0);
    expect(issuedTokens.length).toBeGreaterThan(10);
    for (const secret of [PASSWORD, ...issuedTokens]) {
      expect(lines.filter((line) => line.includes(secret))).toEqual([]);
    }
  });
});

describe('the functions metrics', () => {
  it('are raw EMF lines on stdout in the stack namespace: logins, refreshes and one per authorizer decision, with no token in them', () => {
    const namespace = fn.login.environment['POWERTOOLS_METRICS_NAMESPACE'];
    expect(namespace).toMatch(/^KmsJwtAuth\//);
    const metricsOf = (spec: LambdaFunctionSpec): Record<string, unknown>[] =>
      running
        .filter((environment) => environment.spec === spec)
        .flatMap((environment) => environment.logLines)
        .filter((line) => line.startsWith('{"_aws":'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    const names = (docs: Record<string, unknown>[]): Set<string> => new Set(docs.flatMap((doc) => Object.keys(doc)));
    const namespaces = (docs: Record<string, unknown>[]): Set<unknown> =>
      new Set(docs.flatMap((doc) => (doc['_aws'] as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics.map((d) => d.Namespace)));
    for (const [spec, service, metric] of [
      [fn.login, 'login', 'LoginSucceeded'],
      [fn.refresh, 'refresh', 'RefreshSucceeded'],
      [fn.authorizer, 'authorizer', 'AuthorizerAllowed'],
    ] as const) {
      const docs = metricsOf(spec);
      expect(names(docs), spec.name).toContain(metric);
      expect(names(docs)).toContain('service');
      expect(docs.every((doc) => doc['service'] === service)).toBe(true);
      expect([...namespaces(docs)]).toEqual([namespace]);
      for (const doc of docs) for (const token of issuedTokens) expect(JSON.stringify(doc).includes(token)).toBe(false);
    }
    expect(metricsOf(fn.authorizer).every((doc) => typeof doc['AuthorizerLatency'] === 'number')).toBe(true);
  });
});
