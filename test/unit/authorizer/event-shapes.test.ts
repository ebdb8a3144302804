/**
 * What each API Gateway event shape lets the authorizer enforce, on the events as API Gateway
 * sends them (test/fixtures/events, from AWS's documented samples and captured events):
 * - REST `TOKEN`: `{type, authorizationToken, methodArn}` only, no stage variables → the auth
 *   stack's ROUTE_SCOPES (the method ARN names the route), never an API's own routes;
 * - REST `REQUEST` and HTTP API payload 2.0: `stageVariables` too → both tables.
 * And what happens when API Gateway reuses a cached policy on another route.
 */
import type { PolicyDocument } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { toResponse } from '../../../lambdas/authorizer/authorizer-handler.ts';
import { encodeRouteRequirements } from '../../../lambdas/core/route-requirements-codec.ts';
import { parseRouteRequirements } from '../../../lambdas/core/route-requirements.ts';
import { AUTHORIZER_FAILURE_TERMS } from '../../../lib/auth-alarms.ts';
import { generateTestKey, validToken, NOW } from '../verifier/token-factory.ts';
import { event, makeHarness } from './harness.ts';
import type { AuthorizerFixture } from '../../support/events.ts';

const es = generateTestKey('ES256');
const bearer = (claims: Record<string, unknown> = {}) => `Bearer ${validToken(es, claims)}`;

/** A fixture event for another route of the same API and stage, as API Gateway would send it. */
function onRoute(name: AuthorizerFixture, authorization: string, method: string, path: string, stageVariables?: Record<string, string>) {
  const e = event(name, authorization);
  const arnKey = name === 'http-v2-request-whoami' || name === 'http-v2-request-admin' ? 'routeArn' : 'methodArn';
  const arn = String(e[arnKey]);
  e[arnKey] = `${arn.split('/').slice(0, 2).join('/')}/${method}${path}`;
  if (arnKey === 'routeArn') e.routeKey = `${method} ${path}`;
  if (stageVariables !== undefined) e.stageVariables = stageVariables;
  return e;
}

/**
 * IAM evaluation as API Gateway applies an authorizer policy to a request: an explicit Deny
 * matching the ARN wins, otherwise some Allow must match; `*` matches any run of characters.
 */
function iamAllows(policy: PolicyDocument, arn: string): boolean {
  const matches = (resource: string) => new RegExp(`^${resource.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`).test(arn);
  const statements = policy.Statement.map((s) => s as { Effect: string; Resource: string[] });
  if (statements.some((s) => s.Effect === 'Deny' && s.Resource.some(matches))) return false;
  return statements.some((s) => s.Effect === 'Allow' && s.Resource.some(matches));
}

const REST = 'arn:aws:execute-api:eu-west-1:123456789012:r4n8vb2c1e/prod';
const HTTP = 'arn:aws:execute-api:eu-west-1:123456789012:k7h2xq9mzd/$default';
const reportsNeedAudit = encodeRouteRequirements({ 'GET /reports': ['audit'] });

describe('REST TOKEN events: the stack-wide table only', () => {
  it('enforce ROUTE_SCOPES: the policy for GET /admin denies it to a token without admin', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(event('rest-token', bearer()));
    expect(evaluation.decision).toMatchObject({ status: 403, error: 'insufficient_scope' });
    expect(iamAllows(evaluation.policy as PolicyDocument, `${REST}/GET/admin`)).toBe(false);
  });

  it('keep denying GET /admin when API Gateway reuses the policy cached for GET /whoami (TOKEN caches by token)', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(onRoute('rest-token', bearer(), 'GET', '/whoami'));
    expect(evaluation.decision.effect).toBe('allow');
    const cached = evaluation.policy as PolicyDocument;
    expect(iamAllows(cached, `${REST}/GET/whoami`)).toBe(true);
    expect(iamAllows(cached, `${REST}/GET/admin`)).toBe(false);
    expect(iamAllows(cached, `${REST}/GET/admin/`)).toBe(false);
  });

  it('never carry an API\'s own routes: a TOKEN event has no stage variables, so GET /reports is allowed', async () => {
    const { authorizer } = makeHarness([es]);
    // What API Gateway sends a TOKEN authorizer, whatever the stage's variables are.
    const e = onRoute('rest-token', bearer(), 'GET', '/reports');
    expect(Object.keys(e).sort()).toEqual(['authorizationToken', 'methodArn', 'type']);
    expect((await authorizer.decide(e)).effect).toBe('allow');
  });

  it('enforce an MFA rule of ROUTE_SCOPES, in the decision and in the cached policy', async () => {
    const { authorizer } = makeHarness([es], { routeRequirements: parseRouteRequirements({ 'GET /admin': { mfa: true } }) });
    const evaluation = await authorizer.evaluate(onRoute('rest-token', bearer({ amr: ['pwd'] }), 'GET', '/whoami'));
    expect(evaluation.decision.effect).toBe('allow');
    expect(iamAllows(evaluation.policy as PolicyDocument, `${REST}/GET/admin`)).toBe(false);
    expect(await authorizer.decide(event('rest-token', bearer({ amr: ['pwd'] })))).toMatchObject({ status: 403, error: 'insufficient_user_authentication' });
    expect((await authorizer.decide(event('rest-token', bearer({ amr: ['pwd', 'otp', 'mfa'] })))).effect).toBe('allow');
  });
});

describe('REST REQUEST events: the stack-wide table and the API\'s own', () => {
  it('enforce the API\'s own route from its stage variables: 403 insufficient_scope', async () => {
    const { authorizer } = makeHarness([es]);
    const decision = await authorizer.decide(onRoute('rest-request-whoami', bearer(), 'GET', '/reports', reportsNeedAudit));
    expect(decision).toMatchObject({ status: 403, error: 'insufficient_scope', description: 'requires scope: audit' });
  });

  it('deny the API\'s own route in the policy cached for another route', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(onRoute('rest-request-whoami', bearer(), 'GET', '/whoami', reportsNeedAudit));
    expect(evaluation.decision.effect).toBe('allow');
    const cached = evaluation.policy as PolicyDocument;
    expect(iamAllows(cached, `${REST}/GET/whoami`)).toBe(true);
    expect(iamAllows(cached, `${REST}/GET/reports`)).toBe(false);
    expect(iamAllows(cached, `${REST}/GET/admin`)).toBe(false); // ROUTE_SCOPES still applies
  });

  it('pool both tables: the API cannot lift a requirement of ROUTE_SCOPES', async () => {
    const { authorizer } = makeHarness([es]);
    const loosened = encodeRouteRequirements({ 'GET /admin': ['profile'] });
    const decision = await authorizer.decide(onRoute('rest-request-whoami', bearer({ scope: 'profile' }), 'GET', '/admin', loosened));
    expect(decision).toMatchObject({ status: 403, description: 'requires scope: admin' });
    expect((await authorizer.decide(onRoute('rest-request-whoami', bearer({ scope: 'profile admin' }), 'GET', '/admin', loosened))).effect).toBe('allow');
  });

  it('allow a token that holds what the API asks', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(onRoute('rest-request-whoami', bearer({ scope: 'audit' }), 'GET', '/reports', reportsNeedAudit));
    expect(evaluation.decision.effect).toBe('allow');
    expect(iamAllows(evaluation.policy as PolicyDocument, `${REST}/GET/reports`)).toBe(true);
  });
});

describe('HTTP API payload 2.0 events: the stack-wide table and the API\'s own', () => {
  it('enforce the API\'s own route: isAuthorized false in simple mode, a Deny in IAM mode', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(onRoute('http-v2-request-whoami', bearer(), 'GET', '/reports', reportsNeedAudit));
    expect(evaluation.decision).toMatchObject({ status: 403, error: 'insufficient_scope' });
    expect(toResponse(evaluation, 'simple')).toMatchObject({ isAuthorized: false });
    const response = toResponse(evaluation, 'iam') as { policyDocument: PolicyDocument };
    expect(iamAllows(response.policyDocument, `${HTTP}/GET/reports`)).toBe(false);
  });

  it('allow the same token on the same path of an API that requires nothing there', async () => {
    const { authorizer } = makeHarness([es]);
    expect((await authorizer.decide(onRoute('http-v2-request-whoami', bearer(), 'GET', '/reports'))).effect).toBe('allow');
  });

  it('enforce step-up from the API\'s table: 403 insufficient_user_authentication with the max age', async () => {
    const { authorizer } = makeHarness([es]);
    const payments = encodeRouteRequirements({ 'POST /payments': { mfa: true, maxAuthAgeSeconds: 300 } });
    const old = bearer({ amr: ['pwd', 'otp', 'mfa'], auth_time: NOW - 301 });
    expect(await authorizer.decide(onRoute('http-v2-request-whoami', old, 'POST', '/payments', payments))).toMatchObject({
      status: 403,
      error: 'insufficient_user_authentication',
      description: 'requires multi-factor authentication and an authentication within the last 300 seconds',
      maxAge: 300,
    });
    const fresh = bearer({ amr: ['pwd', 'otp', 'mfa'], auth_time: NOW - 300 });
    expect((await authorizer.decide(onRoute('http-v2-request-whoami', fresh, 'POST', '/payments', payments))).effect).toBe('allow');
  });
});

describe('parsed API tables kept per container', () => {
  it('stay right for each API when more APIs call one container than it keeps parsed', async () => {
    const { authorizer } = makeHarness([es]);
    const token = bearer({ scope: 'openid s7' });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 80; i++) {
        const table = encodeRouteRequirements({ 'GET /reports': [`s${i}`] });
        const decision = await authorizer.decide(onRoute('rest-request-whoami', token, 'GET', '/reports', table));
        expect(decision.effect, `table ${i}, round ${round}`).toBe(i === 7 ? 'allow' : 'deny');
      }
    }
  });
});

describe('an unreadable API table', () => {
  const variables = encodeRouteRequirements(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`GET /r${i}`, [`s${i}`]])));
  const [first, ...rest] = Object.keys(variables);
  const broken: Record<string, Record<string, string>> = {
    'a part missing': Object.fromEntries(rest.map((name) => [name, variables[name] ?? ''])),
    'a part garbled': { ...variables, [first ?? '']: '!!!' },
  };
  for (const [name, stageVariables] of Object.entries(broken)) {
    it(`denies (${name}) as an authorizer failure, never cached, and logs why as the failure alarm counts it`, async () => {
      const h = makeHarness([es]);
      const evaluation = await h.authorizer.evaluate(onRoute('rest-request-whoami', bearer({ scope: 'admin' }), 'GET', '/whoami', stageVariables));
      expect(evaluation.decision).toMatchObject({ effect: 'deny', status: 503 });
      expect(() => toResponse(evaluation, 'iam')).toThrow('AuthorizerDependencyUnavailable');
      expect(h.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', msg: AUTHORIZER_FAILURE_TERMS[1] }));
      expect(h.denylist.reads).toBe(0);
    });
  }
});

describe('amr claim', () => {
  for (const amr of ['mfa', [1], [''], {}, Array.from({ length: 17 }, () => 'pwd')]) {
    it(`refuses a token whose amr is ${JSON.stringify(amr).slice(0, 40)} as invalid_token`, async () => {
      const { authorizer } = makeHarness([es]);
      expect(await authorizer.decide(event('http-v2-request-whoami', bearer({ amr })))).toMatchObject({ status: 401, error: 'invalid_token' });
    });
  }
  it('accepts a token without amr (issued before the issuer set it)', async () => {
    const { authorizer } = makeHarness([es]);
    expect(await authorizer.decide(event('http-v2-request-whoami', bearer()))).toMatchObject({ effect: 'allow', context: { amr: '' } });
  });
});
