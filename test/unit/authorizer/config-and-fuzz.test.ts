import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAuthorizerConfig } from '../../../lambdas/config/authorizer.ts';
import { toResponse } from '../../../lambdas/authorizer/authorizer-handler.ts';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';
import { generateTestKey, validToken } from '../verifier/token-factory.ts';
import { event, makeHarness } from './harness.ts';

const baseEnv = {
  TABLE_NAME: 'auth',
  ISSUER: 'https://auth.example.test',
  AUDIENCE: 'https://api.example.test',
  SIGNING_ALG: 'ES256',
  VERIFY_KEY_IDS: 'arn:aws:kms:eu-west-1:123456789012:key/1,alias/next',
  AWS_REGION: 'eu-west-1',
};

describe('configuration', () => {
  it('reads a complete environment with the documented defaults', () => {
    const config = parseAuthorizerConfig(baseEnv);
    expect(config.policy).toMatchObject({ algorithms: ['ES256'], typ: 'at+jwt', clockSkewSeconds: 60, expiryLeewaySeconds: 0 });
    expect(config.verifyKeyIds).toEqual(['arn:aws:kms:eu-west-1:123456789012:key/1', 'alias/next']);
    expect(config.responseMode).toBe('simple');
    expect(config.denylistCacheSeconds).toBe(0);
  });
  it('accepts a comma list of algorithms', () =>
    expect(parseAuthorizerConfig({ ...baseEnv, SIGNING_ALG: 'ES256, RS256' }).policy.algorithms).toEqual(['ES256', 'RS256']));
  for (const [name, env] of [
    ['a missing ISSUER', { ...baseEnv, ISSUER: undefined }],
    ['SIGNING_ALG HS256', { ...baseEnv, SIGNING_ALG: 'HS256' }],
    ['SIGNING_ALG none', { ...baseEnv, SIGNING_ALG: 'none' }],
    ['no key source', { ...baseEnv, VERIFY_KEY_IDS: ' , ' }],
    ['ROUTE_SCOPES that is not JSON', { ...baseEnv, ROUTE_SCOPES: '{' }],
    ['AUTHORIZER_RESPONSE "allow"', { ...baseEnv, AUTHORIZER_RESPONSE: 'allow' }],
    ['CLOCK_SKEW_SECONDS -5', { ...baseEnv, CLOCK_SKEW_SECONDS: '-5' }],
    ['CLOCK_SKEW_SECONDS 3600', { ...baseEnv, CLOCK_SKEW_SECONDS: '3600' }],
    ['DENYLIST_CACHE_SECONDS "soon"', { ...baseEnv, DENYLIST_CACHE_SECONDS: 'soon' }],
  ] as const) {
    it(`fails fast on ${name}`, () => expect(() => parseAuthorizerConfig(env)).toThrow(ConfigurationError));
  }
});

describe('ROUTE_SCOPES as JSON', () => {
  it('reads the array form and the requirement form side by side', () => {
    const config = parseAuthorizerConfig({ ...baseEnv, ROUTE_SCOPES: '{"GET /admin":["admin"],"POST /pay":{"scopes":["pay"],"mfa":true,"maxAuthAgeSeconds":300}}' });
    expect(config.routeRequirements.map((rule) => [rule.route, rule.requirement])).toEqual([
      ['GET /admin', { scopes: ['admin'], mfa: false, maxAuthAgeSeconds: undefined }],
      ['POST /pay', { scopes: ['pay'], mfa: true, maxAuthAgeSeconds: 300 }],
    ]);
  });
  it('fails fast on a requirement it cannot enforce', () =>
    expect(() => parseAuthorizerConfig({ ...baseEnv, ROUTE_SCOPES: '{"GET /admin":{"mfa":"yes"}}' })).toThrow(/ROUTE_SCOPES: "GET \/admin" mfa must be true or false/));

  // The construct writes ROUTE_SCOPES with JSON.stringify, which never repeats a name; a repeated
  // route in a hand-set value is read as ECMAScript JSON.parse reads it (RFC 8259 §4: names SHOULD
  // be unique; behaviour with duplicates is the parser's): the last occurrence.
  it('reads a hand-set duplicate route as its last occurrence', () => {
    const config = parseAuthorizerConfig({ ...baseEnv, ROUTE_SCOPES: '{"GET /a":["x"],"GET /a":["y"]}' });
    expect(config.routeRequirements).toEqual(parseAuthorizerConfig({ ...baseEnv, ROUTE_SCOPES: '{"GET /a":["y"]}' }).routeRequirements);
  });
});

describe('property: whatever arrives, the answer is a 401/403-type decision and never an unhandled throw', () => {
  const key = generateTestKey('ES256');
  const genuine = validToken(key);
  const { authorizer } = makeHarness([key]);
  const fixtures = ['http-v2-request-whoami', 'http-v2-request-admin', 'rest-token', 'rest-request-whoami'] as const;

  const expectDenied = async (input: unknown): Promise<void> => {
    const evaluation = await authorizer.evaluate(input);
    expect(evaluation.decision.effect).toBe('deny');
    if (evaluation.decision.effect === 'deny') expect([401, 403]).toContain(evaluation.decision.status);
    for (const mode of ['simple', 'iam'] as const) {
      try {
        toResponse(evaluation, mode);
      } catch (e) {
        expect((e as Error).message).toBe('Unauthorized');
      }
    }
  };

  it('arbitrary values as the whole event', async () => {
    await fc.assert(fc.asyncProperty(fc.anything(), expectDenied), { numRuns: 500 });
  });

  it('arbitrary strings as the Authorization header of real-shaped events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fixtures), fc.string({ maxLength: 600 }), async (fixture, header) => {
        await expectDenied(event(fixture, header));
        await expectDenied(event(fixture, `Bearer ${header}`));
      }),
      { numRuns: 500 },
    );
  });

  it('the genuine token with one character changed anywhere', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: genuine.length - 1 }), fc.constantFrom(...alphabet), fc.constantFrom(...fixtures), async (index, c, fixture) => {
        fc.pre(genuine[index] !== c);
        const mutated = `${genuine.slice(0, index)}${c}${genuine.slice(index + 1)}`;
        const decision = await authorizer.decide(event(fixture, `Bearer ${mutated}`));
        // A changed last signature character that differs only in the unused low bits decodes
        // to the genuine signature (RFC 4648 §3.5 lets decoders accept it): the same token, which
        // may pass. Every other change is denied.
        const [h, p, s] = mutated.split('.');
        const sameToken = mutated.startsWith(`${h}.${p}.`) && genuine.startsWith(`${h}.${p}.`) && s !== undefined && /^[\w-]+$/.test(s) &&
          Buffer.from(s, 'base64url').equals(Buffer.from(genuine.split('.')[2] ?? '', 'base64url'));
        if (!sameToken) expect(decision.effect).toBe('deny');
      }),
      { numRuns: 1000 },
    );
  });

  it('real-shaped events with any field replaced by an arbitrary value', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...fixtures), fc.constantFrom('type', 'version', 'methodArn', 'routeArn', 'headers', 'authorizationToken', 'multiValueHeaders'), fc.anything(), async (fixture, field, value) => {
        const e = event(fixture, `Bearer ${genuine}`);
        e[field] = value;
        const decision = await authorizer.decide(e);
        if (decision.effect === 'deny') expect([401, 403]).toContain(decision.status);
      }),
      { numRuns: 500 },
    );
  });
});
