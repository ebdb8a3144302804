import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';
import { grantedScopes, missingScopes, parseRouteScopes, requiredScopesFor, unsatisfiedRules } from '../../../lambdas/core/route-scopes.ts';

const table = parseRouteScopes({
  'GET /admin': ['admin'],
  'ANY /reports/{id}': ['reports:read'],
  'DELETE /reports/{proxy+}': ['reports:write'],
  'POST /files/*': ['files'],
});
const needs = (resource: string) => [...requiredScopesFor(table, resource)].sort();

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
    const rules = unsatisfiedRules(table, grantedScopes('admin reports:read'));
    expect(rules.map((r) => r.route)).toEqual(['DELETE /reports/{proxy+}', 'POST /files/*']);
    expect(rules[0]?.resourceGlobs).toEqual(['DELETE/reports/*']);
  });
  it('reads the scope claim as space-delimited (RFC 6749 §3.3)', () =>
    expect(missingScopes(new Set(['a', 'b']), grantedScopes(' a  c '))).toEqual(['b']));
  for (const bad of [[], { 'GET admin': ['a'] }, { 'FETCH /a': ['a'] }, { 'GET /a': [] }, { 'GET /a': ['has space'] }, { 'GET /a*b': ['x'] }, { 'GET /{proxy+}/x': ['x'] }]) {
    it(`refuses the configuration ${JSON.stringify(bad)}`, () => expect(() => parseRouteScopes(bad)).toThrow(ConfigurationError));
  }
});
