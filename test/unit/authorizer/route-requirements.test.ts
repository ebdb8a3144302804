import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';
import {
  decodeRouteTable,
  encodeRouteRequirements,
  MAX_ROUTE_VARIABLES,
  routeTableText,
  STAGE_VARIABLE_VALUE_LIMIT,
} from '../../../lambdas/core/route-requirements-codec.ts';
import {
  grantedScopes,
  parseRouteRequirements,
  requirementFor,
  shortfall,
  unsatisfiedRules,
  type TokenAuthentication,
} from '../../../lambdas/core/route-requirements.ts';

const table = parseRouteRequirements({
  'GET /admin': ['admin'],
  'ANY /reports/{id}': ['reports:read'],
  'DELETE /reports/{proxy+}': ['reports:write'],
  'POST /files/*': ['files'],
});
const needs = (resource: string) => [...requirementFor([table], resource).scopes].sort();
const NOW = 1_900_000_000;
const token = (over: Partial<TokenAuthentication> = {}): TokenAuthentication => ({
  granted: grantedScopes('openid'),
  amr: ['pwd'],
  authTime: NOW - 100,
  now: NOW,
  ...over,
});

describe('route scopes', () => {
  it('requires admin on GET /admin', () => expect(needs('GET/admin')).toEqual(['admin']));
  it('requires admin on GET /admin/ too, so a trailing slash cannot slip past the rule', () => expect(needs('GET/admin/')).toEqual(['admin']));
  it('requires nothing on POST /admin (another method)', () => expect(needs('POST/admin')).toEqual([]));
  it('requires nothing on a route absent from the table', () => expect(needs('GET/whoami')).toEqual([]));
  it('matches ANY for every method', () => expect(needs('PATCH/reports/7')).toEqual(['reports:read']));
  it('unions the scopes of every matching rule', () => expect(needs('DELETE/reports/7')).toEqual(['reports:read', 'reports:write']));
  it('matches {param} like the IAM glob it becomes, so it can span segments (fail closed)', () =>
    expect(needs('GET/reports/7/pdf')).toEqual(['reports:read']));
  it('matches a trailing * across the rest of the path', () => expect(needs('POST/files/a/b/c')).toEqual(['files']));
  it('is case-sensitive like IAM resource matching', () => expect(needs('GET/Admin')).toEqual([]));
  it('lists the rules a token does not satisfy, for the explicit Deny of the policy', () => {
    const rules = unsatisfiedRules([table], token({ granted: grantedScopes('admin reports:read') }));
    expect(rules.map((r) => r.route)).toEqual(['DELETE /reports/{proxy+}', 'POST /files/*']);
    expect(rules[0]?.resourceGlobs).toEqual(['DELETE/reports/*']);
  });
  it('reads the scope claim as space-delimited (RFC 6749 §3.3)', () =>
    expect(shortfall(requirementFor([parseRouteRequirements({ 'GET /x': ['a', 'b'] })], 'GET/x'), token({ granted: grantedScopes(' a  c ') }))).toEqual({
      error: 'insufficient_scope',
      missingScopes: ['b'],
    }));
  for (const bad of [[], { 'GET admin': ['a'] }, { 'FETCH /a': ['a'] }, { 'GET /a': [] }, { 'GET /a': ['has space'] }, { 'GET /a*b': ['x'] }, { 'GET /{proxy+}/x': ['x'] }]) {
    it(`refuses the configuration ${JSON.stringify(bad)}`, () => expect(() => parseRouteRequirements(bad)).toThrow(ConfigurationError));
  }
});

describe('route requirements: MFA and authentication age', () => {
  const stepUp = parseRouteRequirements({
    'GET /admin': ['admin'],
    'POST /payments': { scopes: ['pay'], mfa: true, maxAuthAgeSeconds: 300 },
    'GET /profile': { mfa: true },
    'GET /fresh': { maxAuthAgeSeconds: 60 },
  });
  const verdict = (resource: string, over: Partial<TokenAuthentication>) => shortfall(requirementFor([stepUp], resource), token(over));

  it('keeps the array form working: scopes only', () => expect(requirementFor([stepUp], 'GET/admin')).toEqual({ scopes: new Set(['admin']), mfa: false, maxAuthAgeSeconds: undefined }));
  it('allows an MFA route for a token whose amr includes "mfa" (RFC 8176)', () =>
    expect(verdict('GET/profile', { amr: ['pwd', 'otp', 'mfa'] })).toBeUndefined());
  it('refuses an MFA route to a token with a password only', () =>
    expect(verdict('GET/profile', { amr: ['pwd'] })).toEqual({ error: 'insufficient_user_authentication', mfa: true, maxAuthAgeSeconds: undefined }));
  it('refuses an MFA route to a token without amr', () => expect(verdict('GET/profile', { amr: undefined })).toMatchObject({ error: 'insufficient_user_authentication' }));
  it('does not take "otp" alone for "mfa": the rule asks for the RFC 8176 mfa value', () =>
    expect(verdict('GET/profile', { amr: ['otp'] })).toMatchObject({ error: 'insufficient_user_authentication' }));
  it('allows an age rule exactly at its limit', () => expect(verdict('GET/fresh', { authTime: NOW - 60 })).toBeUndefined());
  it('refuses an age rule one second past its limit, and names the max age', () =>
    expect(verdict('GET/fresh', { authTime: NOW - 61 })).toEqual({ error: 'insufficient_user_authentication', mfa: false, maxAuthAgeSeconds: 60 }));
  it('reports a missing scope before a missing authentication (a step-up cannot grant a scope)', () =>
    expect(verdict('POST/payments', { amr: ['pwd'] })).toEqual({ error: 'insufficient_scope', missingScopes: ['pay'] }));
  it('asks for step-up once the scope is there', () =>
    expect(verdict('POST/payments', { granted: grantedScopes('pay'), amr: ['pwd'] })).toMatchObject({ error: 'insufficient_user_authentication', mfa: true, maxAuthAgeSeconds: 300 }));
  it('pools rules of two tables: the union of scopes, mfa if either asks, the smaller age', () => {
    const api = parseRouteRequirements({ 'GET /admin': { scopes: ['ops'], maxAuthAgeSeconds: 30 }, 'ANY /{proxy+}': { maxAuthAgeSeconds: 600 } }, 'routes');
    expect(requirementFor([stepUp, api], 'GET/admin')).toEqual({ scopes: new Set(['admin', 'ops']), mfa: false, maxAuthAgeSeconds: 30 });
  });
  it('denies in the policy the rules a token fails for MFA or age, and not those it meets', () => {
    const rules = unsatisfiedRules([stepUp], token({ granted: grantedScopes('admin pay'), amr: ['pwd'], authTime: NOW - 100 }));
    expect(rules.map((r) => r.route)).toEqual(['POST /payments', 'GET /profile', 'GET /fresh']);
    expect(unsatisfiedRules([stepUp], token({ granted: grantedScopes('admin pay'), amr: ['mfa'], authTime: NOW - 10 }))).toEqual([]);
  });
  for (const bad of [
    { 'GET /a': {} },
    { 'GET /a': { mfa: false } },
    { 'GET /a': { mfa: 'yes' } },
    { 'GET /a': { maxAuthAgeSeconds: -1 } },
    { 'GET /a': { maxAuthAgeSeconds: 1.5 } },
    { 'GET /a': { maxAuthAgeSeconds: '300' } },
    { 'GET /a': { maxAuthAgeSeconds: 31_536_001 } },
    { 'GET /a': { scopes: ['x'], acr: 'gold' } },
    { 'GET /a': { scopes: 'admin' } },
    { 'GET /a': 'admin' },
  ]) {
    it(`refuses the requirement ${JSON.stringify(bad)}`, () => expect(() => parseRouteRequirements(bad)).toThrow(ConfigurationError));
  }
  it('names the table in its messages', () => expect(() => parseRouteRequirements({ 'GET /a': {} }, 'routes')).toThrow(/^routes: "GET \/a" requires nothing/));
});

describe('an API route table in stage variables', () => {
  const ALLOWED = /^[A-Za-z0-9\-._~:/?#&=,]+$/;
  const NAME = /^[A-Za-z0-9_]{1,64}$/;

  it('round-trips a table through stage variables within API Gateway\'s name and value rules', () => {
    const routes = { 'GET /admin/{id}': { scopes: ['admin', 'a:b/c+d'], mfa: true, maxAuthAgeSeconds: 300 }, 'ANY /{proxy+}': ['read'] };
    const variables = encodeRouteRequirements(routes);
    for (const [name, value] of Object.entries(variables)) {
      expect(name).toMatch(NAME);
      expect(value).toMatch(ALLOWED);
      expect(value.length).toBeLessThanOrEqual(STAGE_VARIABLE_VALUE_LIMIT);
    }
    const text = routeTableText({ other: 'x', ...variables });
    expect(text).toBeDefined();
    expect(requirementFor([decodeRouteTable(text ?? '')], 'GET/admin/7')).toEqual({ scopes: new Set(['admin', 'a:b/c+d', 'read']), mfa: true, maxAuthAgeSeconds: 300 });
  });

  it('splits a large table over several variables and puts it back together in order', () => {
    const routes: Record<string, string[]> = {};
    for (let i = 0; i < 60; i++) routes[`GET /resource-${i}/{id}`] = [`scope:${i}`];
    const variables = encodeRouteRequirements(routes);
    expect(Object.keys(variables).length).toBeGreaterThan(1);
    const reversed = Object.fromEntries(Object.entries(variables).reverse());
    const decoded = decodeRouteTable(routeTableText(reversed) ?? '');
    expect(decoded.map((r) => r.route)).toEqual(Object.keys(routes));
  });

  it('refuses at encoding a table the authorizer would refuse, with the authorizer\'s message', () =>
    expect(() => encodeRouteRequirements({ 'GET /a*b': ['x'] })).toThrow(/^routes: "GET \/a\*b" has an unsupported path segment/));

  it(`refuses a table that needs more than ${MAX_ROUTE_VARIABLES} variables`, () => {
    const routes: Record<string, string[]> = {};
    for (let i = 0; i < 400; i++) routes[`GET /resource-number-${i}/{id}`] = [`scope:number-${i}`];
    expect(() => encodeRouteRequirements(routes)).toThrow(/stage variables/);
  });

  it('finds no table when the stage has none', () => {
    expect(routeTableText({ backendUrl: 'https://x' })).toBeUndefined();
    expect(routeTableText(undefined)).toBeUndefined();
    expect(routeTableText(null)).toBeUndefined();
  });

  const variables = encodeRouteRequirements(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`GET /r${i}/{id}`, [`s${i}`]])));
  const names = Object.keys(variables);
  for (const [name, stage] of [
    ['a missing part', Object.fromEntries(Object.entries(variables).slice(1))],
    ['parts that disagree on their count', { ...variables, kmsJwtAuthRoutes1of9: 'x' }],
    ['a part beyond its count', { [`kmsJwtAuthRoutes3of2`]: 'x', kmsJwtAuthRoutes1of2: 'x', kmsJwtAuthRoutes2of2: 'x' }],
    ['a part name that is not ours', { kmsJwtAuthRoutesX: 'x' }],
    ['a part that is not a string', { kmsJwtAuthRoutes1of1: 7 }],
  ] as const) {
    it(`refuses ${name} (never reads it as "no requirements")`, () => expect(() => routeTableText(stage)).toThrow(ConfigurationError));
  }
  for (const [name, text] of [
    ['text that is not base64url', 'e30=' ],
    ['base64url that is not JSON', Buffer.from('{"GET /a":').toString('base64url')],
    ['JSON with a repeated route', Buffer.from('{"GET /a":["x"],"GET /a":["y"]}').toString('base64url')],
    ['JSON the parser refuses', Buffer.from('{"GET /a":[]}').toString('base64url')],
  ] as const) {
    it(`refuses ${name}`, () => expect(() => decodeRouteTable(text)).toThrow(ConfigurationError));
  }
  it('splits at the value limit', () => expect(variables[names[0] ?? '']?.length).toBe(STAGE_VARIABLE_VALUE_LIMIT));
});
