import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { KmsJwtAuth, type KmsJwtAuthProps } from '../../lib/kms-jwt-auth.ts';
import { KmsJwtAuthStack } from '../../lib/kms-jwt-auth-stack.ts';
import { parseCookieConfig } from '../../lambdas/config/cookie.ts';
import { SYNTH_TIMEOUT_MS, asArray, isObject, logicalIdOf, nagFindings, rolesGranted, testApp } from './support.ts';

/** All option stacks live in one app so esbuild bundles each handler once for the whole file. */
const app = testApp();
let es256: KmsJwtAuthStack;
let bare: KmsJwtAuth;
let rotation: KmsJwtAuthStack;
let browser: KmsJwtAuthStack;
let domain: KmsJwtAuthStack;
const templates = new Map<Stack, Template>();
const templateOf = (stack: Stack): Template => {
  const found = templates.get(stack);
  if (found === undefined) throw new Error(`no template for ${stack.stackName}`);
  return found;
};
const envOf = (stack: KmsJwtAuthStack, fn: 'login' | 'authorizer' | 'jwks'): Record<string, unknown> => {
  const id = logicalIdOf(stack, stack.auth.functions[fn].function.functionArn);
  const variables: unknown = templateOf(stack).toJSON()['Resources'][id]?.Properties?.Environment?.Variables;
  if (!isObject(variables)) throw new Error('no environment');
  return variables;
};

beforeAll(() => {
  es256 = new KmsJwtAuthStack(app, 'Es256', { auth: { signingAlgorithm: 'ES256' } });
  // The construct as another CDK app uses it: no cdk.json context, no props.
  bare = new KmsJwtAuth(new Stack(app, 'Bare'), 'Auth');
  rotation = new KmsJwtAuthStack(app, 'Rotation', {
    auth: (stack) => ({
      keyGenerations: ['v2', 'v1'],
      additionalVerificationKeys: [
        kms.Key.fromKeyArn(stack, 'Legacy', 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555'),
      ],
    }),
  });
  browser = new KmsJwtAuthStack(app, 'Browser', {
    auth: (stack) => ({
      cookieMode: true,
      corsOrigins: ['https://app.example.com'],
      reusePolicy: 'user',
      accessTokenTtl: Duration.minutes(5),
      authorizerCacheTtl: Duration.seconds(30),
      routeScopes: { 'GET /admin': ['admin'] },
      authorizerReservedConcurrency: 50,
      removalPolicy: RemovalPolicy.DESTROY,
      alarmTopic: sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:eu-west-1:111111111111:ops'),
    }),
  });
  domain = new KmsJwtAuthStack(app, 'Domain', {
    auth: (stack) => ({
      customDomain: {
        domainName: 'auth.example.com',
        certificate: acm.Certificate.fromCertificateArn(
          stack,
          'Cert',
          'arn:aws:acm:eu-west-1:111111111111:certificate/11111111-2222-3333-4444-555555555555',
        ),
        hostedZone: route53.HostedZone.fromHostedZoneAttributes(stack, 'Zone', {
          hostedZoneId: 'Z1234567890',
          zoneName: 'example.com',
        }),
      },
    }),
  });
  for (const stack of [es256, Stack.of(bare), rotation, browser, domain]) templates.set(stack, Template.fromStack(stack));
}, SYNTH_TIMEOUT_MS);

const signingConditionOf = (template: Template, algorithm: string): void => {
  template.hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: {
      Statement: Match.arrayWith([
        Match.objectLike({
          Action: 'kms:Sign',
          Condition: Match.objectLike({ StringEquals: { 'kms:SigningAlgorithm': algorithm } }),
        }),
      ]),
    },
  });
};

describe('the signing algorithm', () => {
  it('is RS256 on an RSA_2048 key when the construct is used without props or context', () => {
    const template = templateOf(Stack.of(bare));
    template.hasResourceProperties('AWS::KMS::Key', { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    signingConditionOf(template, 'RSASSA_PKCS1_V1_5_SHA_256');
    const loginId = logicalIdOf(Stack.of(bare), bare.functions.login.function.functionArn);
    const variables: unknown = template.toJSON()['Resources'][loginId]?.Properties?.Environment?.Variables;
    expect(isObject(variables) ? variables['SIGNING_ALG'] : undefined).toBe('RS256');
  });

  it('switches the key spec to ECC_NIST_P256 for ES256', () => {
    templateOf(es256).hasResourceProperties('AWS::KMS::Key', { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
  });

  it('tells the functions ES256 and restricts kms:Sign to ECDSA_SHA_256', () => {
    expect(envOf(es256, 'login')['SIGNING_ALG']).toBe('ES256');
    expect(envOf(es256, 'authorizer')['SIGNING_ALG']).toBe('ES256');
    signingConditionOf(templateOf(es256), 'ECDSA_SHA_256');
  });
});

describe('key rotation', () => {
  it('creates one key per generation, each with its alias', () => {
    const template = templateOf(rotation);
    // Two signing generations, and the MFA key that seals TOTP secrets.
    template.resourceCountIs('AWS::KMS::Key', 3);
    expect(template.findResources('AWS::KMS::Key', { Properties: { KeyUsage: 'SIGN_VERIFY' } })).toSatisfy((keys: object) => Object.keys(keys).length === 2);
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/kms-jwt-auth/Rotation/v1' });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/kms-jwt-auth/Rotation/v2' });
  });

  it('signs with the first generation only', () => {
    const v2 = logicalIdOf(rotation, rotation.auth.keys.signingKey.keyArn);
    expect(rotation.auth.keys.keysByGeneration.get('v2')).toBe(rotation.auth.keys.signingKey);
    expect(envOf(rotation, 'login')['SIGNING_KEY_ID']).toEqual({ 'Fn::GetAtt': [v2, 'Arn'] });
    templateOf(rotation).hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/kms-jwt-auth/Rotation/signing',
      TargetKeyId: { 'Fn::GetAtt': [v2, 'Arn'] },
    });
    const keys = Object.entries(templateOf(rotation).findResources('AWS::KMS::Key'));
    for (const [id, key] of keys) {
      const signs = asArray(key.Properties.KeyPolicy.Statement)
        .filter(isObject)
        .some((s) => asArray(s['Action']).includes('kms:Sign'));
      expect(signs, id).toBe(id === v2);
    }
  });

  it('publishes and trusts every generation and the additional keys, signing key first', () => {
    const v2 = logicalIdOf(rotation, rotation.auth.keys.signingKey.keyArn);
    const v1Key = rotation.auth.keys.keysByGeneration.get('v1');
    if (v1Key === undefined) throw new Error('no v1');
    const v1 = logicalIdOf(rotation, v1Key.keyArn);
    const expected = {
      'Fn::Join': [
        '',
        [
          { 'Fn::GetAtt': [v2, 'Arn'] },
          ',',
          { 'Fn::GetAtt': [v1, 'Arn'] },
          ',arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555',
        ],
      ],
    };
    expect(envOf(rotation, 'authorizer')['VERIFY_KEY_IDS']).toEqual(expected);
    expect(envOf(rotation, 'jwks')['VERIFY_KEY_IDS']).toEqual(expected);
  });

  it('names the keys trusted from elsewhere apart (ADDITIONAL_VERIFY_KEY_IDS), so that they keep verifying after a rotate-key; none when there are none', () => {
    const legacy = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';
    expect(envOf(rotation, 'authorizer')['ADDITIONAL_VERIFY_KEY_IDS']).toBe(legacy);
    expect(envOf(rotation, 'jwks')['ADDITIONAL_VERIFY_KEY_IDS']).toBe(legacy);
    expect(envOf(es256, 'authorizer')['ADDITIONAL_VERIFY_KEY_IDS']).toBeUndefined();
  });

  it('grants kms:GetPublicKey on the deployment\'s tagged keys and, by ARN, on the additional keys; kms:Sign to the signers alone', () => {
    const authorizerRole = logicalIdOf(rotation, rotation.auth.functions.authorizer.role.roleArn);
    const policies = Object.values(templateOf(rotation).findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(authorizerRole),
    );
    const reads = policies
      .flatMap((p) => asArray(p.Properties.PolicyDocument.Statement))
      .filter(isObject)
      .filter((s) => s['Action'] === 'kms:GetPublicKey');
    expect(reads).toHaveLength(2);
    const tagged = reads.find((s) => s['Condition'] !== undefined);
    expect(JSON.stringify(tagged?.['Condition'])).toContain('aws:ResourceTag/kms-jwt-auth:deployment');
    expect(JSON.stringify(tagged?.['Resource'])).toContain(':key/*');
    const byArn = reads.find((s) => s['Condition'] === undefined);
    expect(asArray(byArn?.['Resource'])).toEqual(['arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555']);
    expect(rolesGranted(templateOf(rotation), 'kms:Sign')).toHaveLength(2);
  });

  it('still passes cdk-nag', () => {
    expect(nagFindings(rotation)).toEqual([]);
  });
});

describe('browser apps', () => {
  it('turn on cookie mode, CORS with credentials, and the user reuse policy', () => {
    expect(envOf(browser, 'login')).toMatchObject({
      COOKIE_MODE: 'on',
      CORS_ORIGINS: 'https://app.example.com',
      REUSE_POLICY: 'user',
      ACCESS_TOKEN_TTL_SECONDS: '300',
    });
    templateOf(browser).hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://app.example.com'],
        AllowCredentials: true,
      }),
    });
  });

  it('pass route scopes to the authorizer as JSON', () => {
    expect(JSON.parse(String(envOf(browser, 'authorizer')['ROUTE_SCOPES']))).toEqual({ 'GET /admin': ['admin'] });
  });

  it('cache authorizer decisions per token and route when a cache TTL is set', () => {
    templateOf(browser).hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerResultTtlInSeconds: 30,
      IdentitySource: ['$request.header.Authorization', '$context.routeKey'],
    });
  });

  it('reserve concurrency for the authorizer alone when asked', () => {
    const reserved = (stack: Stack, fn: 'login' | 'authorizer' | 'jwks'): unknown => {
      const auth = stack instanceof KmsJwtAuthStack ? stack.auth : bare;
      const id = logicalIdOf(stack, auth.functions[fn].function.functionArn);
      return templateOf(stack).toJSON()['Resources'][id]?.Properties?.ReservedConcurrentExecutions;
    };
    expect(reserved(browser, 'authorizer')).toBe(50);
    expect(reserved(browser, 'login')).toBeUndefined();
    expect(reserved(browser, 'jwks')).toBeUndefined();
    // Unreserved by default: a reservation also caps the function, and fails to deploy in
    // accounts whose concurrency limit leaves no room for it (docs/deploy.md).
    for (const stack of [Stack.of(bare), es256]) expect(reserved(stack, 'authorizer')).toBeUndefined();
  });

  it('send alarms to the topic', () => {
    const alarms = Object.values(templateOf(browser).findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:111111111111:ops']);
    }
  });

  it('with a DESTROY removal policy, turn deletion protection off too, so that `cdk destroy` can delete the table', () => {
    // CloudFormation cannot delete a table that has deletion protection: the stack would end in
    // DELETE_FAILED. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection
    templateOf(browser).hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
    });
    // Every other stateful resource follows the policy as well: keys (scheduled for deletion
    // after KMS's waiting period) and log groups.
    for (const type of ['AWS::KMS::Key', 'AWS::Logs::LogGroup']) {
      const resources = Object.values(templateOf(browser).findResources(type));
      expect(resources.length, type).toBeGreaterThan(0);
      for (const resource of resources) expect(resource.DeletionPolicy, type).toBe('Delete');
    }
  });
});

describe('custom domain', () => {
  it('derives the issuer from the domain, not from the API id', () => {
    expect(envOf(domain, 'login')['ISSUER']).toBe('https://auth.example.com');
    expect(envOf(domain, 'authorizer')['ISSUER']).toBe('https://auth.example.com');
    templateOf(domain).hasOutput('Issuer', { Value: 'https://auth.example.com' });
    templateOf(domain).hasOutput('JwksUrl', { Value: 'https://auth.example.com/.well-known/jwks.json' });
  });

  it('maps the domain to the stage and creates alias records', () => {
    templateOf(domain).hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'auth.example.com' });
    templateOf(domain).resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 1);
    templateOf(domain).hasResourceProperties('AWS::Route53::RecordSet', { Type: 'A', Name: 'auth.example.com.' });
    templateOf(domain).hasResourceProperties('AWS::Route53::RecordSet', { Type: 'AAAA', Name: 'auth.example.com.' });
  });
});

describe('invalid settings fail at synth, not at cold start', () => {
  const make = (props: KmsJwtAuthProps): (() => KmsJwtAuth) => () =>
    new KmsJwtAuth(new Stack(testApp(), 'Invalid'), 'Auth', props);

  it('refuses an access token lifetime under 5 minutes', () => {
    expect(make({ accessTokenTtl: Duration.minutes(4) })).toThrow(/accessTokenTtl/);
  });

  it('refuses an access token lifetime over 60 minutes', () => {
    expect(make({ accessTokenTtl: Duration.minutes(61) })).toThrow(/accessTokenTtl/);
  });

  it('refuses an absolute refresh lifetime shorter than the sliding one', () => {
    expect(make({ refreshTokenTtl: Duration.days(10), refreshAbsoluteTtl: Duration.days(5) })).toThrow(/refreshAbsoluteTtl/);
  });

  it('refuses an authorizer cache TTL over one hour', () => {
    expect(make({ authorizerCacheTtl: Duration.hours(2) })).toThrow(/cache TTL/);
  });

  it('refuses "*" as CORS origin in cookie mode', () => {
    expect(make({ cookieMode: true, corsOrigins: ['*'] })).toThrow(/cookieMode/);
  });

  it('refuses a CORS origin with a path', () => {
    expect(make({ corsOrigins: ['https://app.example.com/login'] })).toThrow(/corsOrigins.*CORS_ORIGINS has an invalid origin/);
  });

  it('checks cookie and CORS settings with the parser the handlers run at cold start', () => {
    // Whatever synth accepts, the login/refresh/revoke handlers accept too (and the reverse).
    expect(make({ corsOrigins: ['*'] })).not.toThrow();
    expect(parseCookieConfig({ COOKIE_MODE: 'off', CORS_ORIGINS: '*', REFRESH_COOKIE_PATH: '/refresh' }).allowedOrigins).toEqual([]);
    expect(make({ cookieMode: true, corsOrigins: [] })).toThrow(/cookieMode/);
    expect(make({ refreshCookiePath: '/a;b' })).toThrow(/refreshCookiePath/);
    // The cookie must also reach POST /refresh/revoke, so the path is /refresh's, maybe under a base path.
    expect(make({ refreshCookiePath: '/other' })).toThrow(/refreshCookiePath/);
    expect(make({ refreshCookiePath: '/auth/refresh' })).not.toThrow();
  });

  it('checks the passkey relying party with the parser the login and account functions run, naming the prop', () => {
    expect(make({ passkeys: { rpId: 'example.com', origins: ['https://app.example.com'] } })).not.toThrow();
    expect(make({ passkeys: { rpId: 'example.com', origins: ['https://app.example.org'] } })).toThrow(/passkeys\.origins.*not on the RP ID/);
    expect(make({ passkeys: { rpId: 'https://example.com' } })).toThrow(/passkeys\.rpId.*PASSKEY_RP_ID must be a lowercase domain/);
  });

  it('refuses a malformed route scope key', () => {
    expect(make({ routeScopes: { '/admin': ['admin'] } })).toThrow(/routeScopes/);
  });

  it('refuses a scope with a space in it', () => {
    expect(make({ routeScopes: { 'GET /admin': ['admin users'] } })).toThrow(/scope tokens/);
  });

  // The authorizer refuses these at cold start (a `*` inside a literal segment is an IAM glob
  // character; `{proxy+}` must be the last segment): synth must refuse them with its words.
  it('refuses a route scope key with a "*" inside a segment, with the authorizer\'s message', () => {
    expect(make({ routeScopes: { 'GET /a*b': ['admin'] } })).toThrow(/routeScopes.*ROUTE_SCOPES: "GET \/a\*b" has an unsupported path segment/);
  });

  it('refuses a route scope key with {proxy+} before the last segment, with the authorizer\'s message', () => {
    expect(make({ routeScopes: { 'GET /x/{proxy+}/y': ['admin'] } })).toThrow(
      /routeScopes.*ROUTE_SCOPES: "GET \/x\/\{proxy\+\}\/y" has an unsupported path segment/,
    );
  });

  it('refuses lifetimes out of range with the login handler\'s message', () => {
    expect(make({ refreshTokenTtl: Duration.days(91), refreshAbsoluteTtl: Duration.days(100) })).toThrow(
      /refreshTokenTtl.*REFRESH_TOKEN_TTL_SECONDS must be between 300 and 7776000, got 7862400/,
    );
    expect(make({ accessTokenTtl: Duration.minutes(4) })).toThrow(/ACCESS_TOKEN_TTL_SECONDS must be between 300 and 3600, got 240/);
    expect(make({ clockSkew: Duration.minutes(6) })).toThrow(/clockSkew.*CLOCK_SKEW_SECONDS must be between 0 and 300, got 360/);
  });

  it('refuses a refresh grace period over 60 s or of a fraction of a second, with the refresh handler\'s message', () => {
    expect(make({ refreshGracePeriod: Duration.seconds(61) })).toThrow(/refreshGracePeriod.*REFRESH_GRACE_SECONDS must be between 0 and 60, got 61/);
    expect(make({ refreshGracePeriod: Duration.millis(1500) })).toThrow(/refreshGracePeriod.*REFRESH_GRACE_SECONDS/);
  });

  it('gives the issuing functions the refresh grace period: 30 s by default', () => {
    expect(envOf(es256, 'login')['REFRESH_GRACE_SECONDS']).toBe('30');
  });

  it('refuses an issuer that is not a URL with the handlers\' message', () => {
    expect(make({ issuer: 'auth.example.com' })).toThrow(/issuer.*ISSUER must be an http\(s\) URL/);
  });

  it('refuses cookie mode without origins with the handlers\' message', () => {
    expect(make({ cookieMode: true })).toThrow(/cookieMode.*COOKIE_MODE=on needs CORS_ORIGINS/);
  });

  it('refuses a plain-http or trailing-slash issuer', () => {
    expect(make({ issuer: 'http://auth.example.com' })).toThrow(/issuer/);
    expect(make({ issuer: 'https://auth.example.com/' })).toThrow(/issuer/);
  });

  it('refuses deletion protection together with a DESTROY removal policy', () => {
    // The two contradict each other: `cdk destroy` would try to delete a table it may not delete.
    expect(make({ removalPolicy: RemovalPolicy.DESTROY, deletionProtection: true })).toThrow(
      /removalPolicy DESTROY.*deletionProtection/,
    );
  });

  it('refuses an authorizer concurrency reservation that is not a whole number of at least 1', () => {
    // 0 would throttle every invocation: every protected API would answer 500.
    for (const value of [0, -1, 2.5, Number.NaN]) {
      expect(make({ authorizerReservedConcurrency: value }), String(value)).toThrow(/authorizerReservedConcurrency/);
    }
  });

  it('refuses duplicate or empty key generations', () => {
    expect(make({ keyGenerations: ['v1', 'v1'] })).toThrow(/unique/);
    expect(make({ keyGenerations: [] })).toThrow(/at least one/);
  });
});
