import { readFileSync } from 'node:fs';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { CONTEXT_KEYS, CONTEXT_PREFIX, readAppSettings } from '../../lib/app-settings.ts';
import { CDK_JSON_PATH, cdkJsonContext, testApp } from './support.ts';

const settingsFor = (context: Record<string, unknown>) => {
  const app = testApp(Object.fromEntries(Object.entries(context).map(([k, v]) => [`${CONTEXT_PREFIX}${k}`, v])));
  const settings = readAppSettings(app.node);
  return { settings, props: settings.authProps(new Stack(app, 'S')) };
};

describe('cdk.json', () => {
  it('runs the app with tsx', () => {
    const parsed: unknown = JSON.parse(readFileSync(CDK_JSON_PATH, 'utf8'));
    expect(parsed).toMatchObject({ app: 'npx tsx bin/app.ts' });
  });

  it('only uses context keys the app knows', () => {
    const keys = Object.keys(cdkJsonContext()).filter((k) => k.startsWith(CONTEXT_PREFIX));
    const known = new Set<string>(CONTEXT_KEYS.map((k) => `${CONTEXT_PREFIX}${k}`));
    expect(keys.filter((k) => !known.has(k))).toEqual([]);
  });

  it('every context key is documented in docs/deploy.md', () => {
    const doc = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
    expect(CONTEXT_KEYS.filter((k) => !doc.includes(`\`${CONTEXT_PREFIX}${k}\``))).toEqual([]);
  });

  it('its defaults give the construct defaults', () => {
    const { settings, props } = settingsFor({});
    expect(settings.stackName).toBe('KmsJwtAuth');
    expect(props).toMatchObject({
      signingAlgorithm: 'RS256',
      reusePolicy: 'family',
      cookieMode: false,
      corsOrigins: [],
      keyGenerations: ['v1'],
      removalPolicy: RemovalPolicy.RETAIN,
      logRetention: logs.RetentionDays.ONE_YEAR,
    });
    expect(props.accessTokenTtl?.toSeconds()).toBe(900);
    // Not set, so that it follows removalPolicy (on with retain, off with destroy).
    expect(props.deletionProtection).toBeUndefined();
    expect(props.issuer).toBeUndefined();
    expect(props.customDomain).toBeUndefined();
    expect(props.alarmTopic).toBeUndefined();
  });
});

describe('the refresh grace period', () => {
  it('comes from kms-jwt-auth:refreshGraceSeconds (its range is the refresh handler\'s, checked at synth: test/infra/options.test.ts)', () => {
    expect(settingsFor({ refreshGraceSeconds: '45' }).props.refreshGracePeriod?.toSeconds()).toBe(45);
    expect(settingsFor({}).props.refreshGracePeriod).toBeUndefined();
  });
});

describe('the authorizer\'s reserved concurrency', () => {
  it('comes from kms-jwt-auth:authorizerReservedConcurrency and is unset by default', () => {
    expect(settingsFor({ authorizerReservedConcurrency: '25' }).props.authorizerReservedConcurrency).toBe(25);
    expect(settingsFor({ authorizerReservedConcurrency: 25 }).props.authorizerReservedConcurrency).toBe(25);
    expect(settingsFor({}).props.authorizerReservedConcurrency).toBeUndefined();
  });

  it('refuses a value that is not a number', () => {
    expect(() => settingsFor({ authorizerReservedConcurrency: 'many' })).toThrow(/authorizerReservedConcurrency/);
  });
});

describe('context values', () => {
  it('accept strings from the command line for numbers, booleans and lists', () => {
    const { props } = settingsFor({
      accessTokenTtlMinutes: '10',
      cookieMode: 'true',
      corsOrigins: 'https://a.example.com, https://b.example.com',
      keyGenerations: '["v2","v1"]',
      routeScopes: '{"GET /admin":["admin"]}',
      removalPolicy: 'destroy',
    });
    expect(props.accessTokenTtl?.toSeconds()).toBe(Duration.minutes(10).toSeconds());
    expect(props.cookieMode).toBe(true);
    expect(props.corsOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
    expect(props.keyGenerations).toEqual(['v2', 'v1']);
    expect(props.routeScopes).toEqual({ 'GET /admin': ['admin'] });
    expect(props.removalPolicy).toBe(RemovalPolicy.DESTROY);
  });

  it('removalPolicy=destroy on the command line alone gives a stack that `cdk destroy` can delete', () => {
    // cdk.json must not pin deletionProtection: the construct refuses it with destroy.
    expect(settingsFor({ removalPolicy: 'destroy' }).props).toMatchObject({ removalPolicy: RemovalPolicy.DESTROY });
    expect(settingsFor({ removalPolicy: 'destroy' }).props.deletionProtection).toBeUndefined();
  });

  it('build a custom domain, imported keys and an alarm topic from ARNs', () => {
    const { props } = settingsFor({
      customDomainName: 'auth.example.com',
      certificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/abc',
      additionalVerificationKeyArns: ['arn:aws:kms:eu-west-1:111111111111:key/abc'],
      alarmTopicArn: 'arn:aws:sns:eu-west-1:111111111111:ops',
    });
    expect(props.customDomain?.domainName).toBe('auth.example.com');
    expect(props.additionalVerificationKeys).toHaveLength(1);
    expect(props.alarmTopic?.topicArn).toBe('arn:aws:sns:eu-west-1:111111111111:ops');
  });

  it('refuse an unknown algorithm', () => {
    expect(() => settingsFor({ signingAlgorithm: 'HS256' })).toThrow(/signingAlgorithm/);
  });

  it('refuse a retention CloudWatch does not offer', () => {
    expect(() => settingsFor({ logRetentionDays: 42 })).toThrow(/logRetentionDays/);
  });

  it('refuse a custom domain without a certificate', () => {
    expect(() => settingsFor({ customDomainName: 'auth.example.com' })).toThrow(/certificateArn/);
  });

  it('accept route requirements with MFA and authentication age beside the scopes-only form', () => {
    const { props } = settingsFor({ routeScopes: '{"GET /admin":["admin"],"POST /pay":{"scopes":["pay"],"mfa":true,"maxAuthAgeSeconds":300}}' });
    expect(props.routeScopes).toEqual({ 'GET /admin': ['admin'], 'POST /pay': { scopes: ['pay'], mfa: true, maxAuthAgeSeconds: 300 } });
  });

  it('refuse a route requirement the authorizer could not enforce', () => {
    expect(() => settingsFor({ routeScopes: '{"GET /admin":{"mfa":"yes"}}' })).toThrow(/routeScopes/);
  });

  it('refuse malformed JSON for route scopes', () => {
    expect(() => settingsFor({ routeScopes: '{"GET /admin": admin}' })).toThrow(/routeScopes/);
  });

  it('refuse a non-boolean cookie mode', () => {
    expect(() => settingsFor({ cookieMode: 'yes' })).toThrow(/cookieMode/);
  });
});

describe('the passkey relying party', () => {
  it('comes from kms-jwt-auth:passkeyRpId, passkeyRpName and passkeyOrigins, and is unset by default (the issuer host then)', () => {
    expect(settingsFor({ passkeyRpId: 'example.com', passkeyRpName: 'Example', passkeyOrigins: 'https://app.example.com,https://example.com' }).props.passkeys).toEqual({
      rpId: 'example.com',
      rpName: 'Example',
      origins: ['https://app.example.com', 'https://example.com'],
    });
    expect(settingsFor({ passkeyRpId: 'example.com' }).props.passkeys).toEqual({ rpId: 'example.com' });
    expect(settingsFor({}).props.passkeys).toBeUndefined();
  });

  it('refuses passkeyOrigins or passkeyRpName without passkeyRpId', () => {
    expect(() => settingsFor({ passkeyOrigins: ['https://app.example.com'] })).toThrow(/passkeyOrigins.*passkeyRpId/);
    expect(() => settingsFor({ passkeyRpName: 'Example' })).toThrow(/passkeyRpName.*passkeyRpId/);
  });
});
