import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parseCookieConfig } from '../../../lambdas/config/cookie.ts';
import { parseIssuerConfig, parseIssuingFunctionConfig, parseRevokeFunctionConfig } from '../../../lambdas/config/issuer.ts';
import { parseJwksFunctionConfig } from '../../../lambdas/config/jwks.ts';
import { ConfigurationError } from '../../../lambdas/core/errors.ts';
import { createJwksHandler } from '../../../lambdas/jwks/jwks-handler.ts';
import { shellSettings } from '../../../local/service.ts';

const ISSUING = {
  ISSUER: 'https://auth.example.com',
  AUDIENCE: 'api',
  TABLE_NAME: 'auth',
  SIGNING_KEY_ID: 'arn:aws:kms:eu-west-1:111122223333:key/1',
} as const;

describe("each function's settings, parsed from a plain object", () => {
  it('login and refresh: the policy, the table, the signing key and the cookie settings', () => {
    const config = parseIssuingFunctionConfig(ISSUING);
    expect(config).toMatchObject({ tableName: 'auth', signingKeyId: ISSUING.SIGNING_KEY_ID, cookie: { enabled: false } });
    expect(config.policy.issuer).toBe('https://auth.example.com');
  });
  it('login refuses a missing signing key, naming the variable', () =>
    expect(() => parseIssuingFunctionConfig({ ...ISSUING, SIGNING_KEY_ID: ' ' })).toThrow(/SIGNING_KEY_ID/));
  it('revoke needs at least one verification key', () =>
    expect(() => parseRevokeFunctionConfig({ ...ISSUING, VERIFY_KEY_IDS: ' , ' })).toThrow(/VERIFY_KEY_IDS/));
  it('refuses a sliding refresh lifetime shorter than the access token lifetime', () =>
    expect(() => parseIssuerConfig({ ...ISSUING, ACCESS_TOKEN_TTL_SECONDS: '3600', REFRESH_TOKEN_TTL_SECONDS: '1800' })).toThrow(
      /REFRESH_TOKEN_TTL_SECONDS must not be shorter than ACCESS_TOKEN_TTL_SECONDS/,
    ));
  it('refuses a cookie mode other than on or off instead of treating it as off', () =>
    expect(() => parseCookieConfig({ COOKIE_MODE: 'yes' })).toThrow(ConfigurationError));
  it('jwks needs the table that holds the key registry', () =>
    expect(() => parseJwksFunctionConfig({ ISSUER: 'https://auth.example.com', VERIFY_KEY_IDS: 'k' })).toThrow(/TABLE_NAME/));
  it('jwks refuses an issuer that is not a URL and an unknown algorithm', () => {
    const jwks = { ISSUER: 'https://auth.example.com/', VERIFY_KEY_IDS: 'k1,k2', TABLE_NAME: 'auth' };
    expect(parseJwksFunctionConfig(jwks)).toEqual({ issuer: 'https://auth.example.com', signingAlg: 'RS256', verifyKeyIds: ['k1', 'k2'], additionalVerifyKeyIds: [], tableName: 'auth' });
    expect(parseJwksFunctionConfig({ ...jwks, ADDITIONAL_VERIFY_KEY_IDS: ' k9 , ' }).additionalVerifyKeyIds).toEqual(['k9']);
    expect(() => parseJwksFunctionConfig({ ...jwks, ISSUER: 'auth.example.com' })).toThrow(/ISSUER must be an http\(s\) URL/);
    expect(() => parseJwksFunctionConfig({ ...jwks, SIGNING_ALG: 'HS256' })).toThrow(/SIGNING_ALG/);
  });
});

describe('handlers built by factories', () => {
  const discovery = {
    version: '2.0',
    routeKey: 'GET /.well-known/openid-configuration',
    rawPath: '/.well-known/openid-configuration',
    headers: {},
    requestContext: { requestId: 'r', http: { method: 'GET', path: '/.well-known/openid-configuration' } },
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
  const context = { awsRequestId: 'r', functionName: 'jwks', getRemainingTimeInMillis: () => 1000 } as unknown as Context;
  const noKeys = { keySet: { keys: async () => [] } };

  it('two handlers with different settings live side by side in one process, neither reading process.env', async () => {
    const a = createJwksHandler(parseJwksFunctionConfig({ ISSUER: 'https://a.example', VERIFY_KEY_IDS: 'k', TABLE_NAME: 't' }), noKeys);
    const b = createJwksHandler(parseJwksFunctionConfig({ ISSUER: 'https://b.example', VERIFY_KEY_IDS: 'k', SIGNING_ALG: 'ES256', TABLE_NAME: 't' }), noKeys);
    const [bodyA, bodyB] = await Promise.all([a(discovery, context), b(discovery, context)]).then((results) =>
      results.map((result) => JSON.parse(String(result.body)) as Record<string, unknown>),
    );
    expect(bodyA).toMatchObject({ issuer: 'https://a.example', access_token_signing_alg_values_supported: ['RS256'] });
    expect(bodyB).toMatchObject({ issuer: 'https://b.example', access_token_signing_alg_values_supported: ['ES256'] });
    expect(process.env['ISSUER']).toBeUndefined();
  });
});

describe('npm start', () => {
  it("passes the shell's cookie, CORS and lifetime settings to the functions, and nothing the service owns", () => {
    expect(
      shellSettings({ CORS_ORIGINS: 'https://app.example', COOKIE_MODE: 'on', REUSE_POLICY: 'user', TABLE_NAME: 'mine', ISSUER: 'https://x', PATH: '/bin' }),
    ).toEqual({ CORS_ORIGINS: 'https://app.example', COOKIE_MODE: 'on', REUSE_POLICY: 'user' });
  });
});
