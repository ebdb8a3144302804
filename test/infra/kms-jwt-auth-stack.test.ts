import { ACCOUNT_ROUTE_KEYS } from '../../lambdas/account/routes.ts';
import { PASSKEY_LOGIN_ROUTE_KEYS } from '../../lambdas/login/routes.ts';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_ACCESS, FUNCTION_NAMES, type FunctionName } from '../../lib/function-access.ts';
import { KmsJwtAuthStack } from '../../lib/kms-jwt-auth-stack.ts';
import { AUTHORIZER_FAILURE_TERMS } from '../../lib/auth-alarms.ts';
import {
  SYNTH_TIMEOUT_MS,
  acknowledgments,
  actionsOf,
  allPolicyDocuments,
  asArray,
  isObject,
  logicalIdOf,
  nagFindings,
  rolesGranted,
  statementsOfRole,
  testApp,
} from './support.ts';

let stack: KmsJwtAuthStack;
let template: Template;
const roleOf = (name: FunctionName): string => logicalIdOf(stack, stack.auth.functions[name].role.roleArn);
const functionOf = (name: FunctionName): string =>
  logicalIdOf(stack, stack.auth.functions[name].function.functionArn);
const envOf = (name: FunctionName): Record<string, unknown> => {
  const resource = template.toJSON()['Resources'][functionOf(name)];
  const variables: unknown = resource?.Properties?.Environment?.Variables;
  if (!isObject(variables)) throw new Error(`no environment for ${name}`);
  return variables;
};

beforeAll(() => {
  stack = new KmsJwtAuthStack(testApp(), 'TestAuth');
  template = Template.fromStack(stack);
}, SYNTH_TIMEOUT_MS);

/** The signing key's resource (the stack also has the MFA key). */
const signingKeyResource = () => template.toJSON()['Resources'][logicalIdOf(stack, stack.auth.keys.signingKey.keyArn)];
const mfaKeyResource = () => template.toJSON()['Resources'][logicalIdOf(stack, stack.auth.mfaKey.key.keyArn)];

describe('the signing key', () => {
  it('is an asymmetric RSA_2048 key for signing and verifying by default (RS256)', () => {
    template.resourceCountIs('AWS::KMS::Key', 2);
    expect(signingKeyResource()?.Properties).toMatchObject({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
  });

  it('is retained when removed from the stack', () => {
    expect(signingKeyResource()).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('has a per-generation alias and a "signing" alias pointing at the signing key', () => {
    const keyId = logicalIdOf(stack, stack.auth.keys.signingKey.keyArn);
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/kms-jwt-auth/TestAuth/v1',
      TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/kms-jwt-auth/TestAuth/signing',
      TargetKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] },
    });
  });

  it('has a key policy that gives the account no kms:Sign, no kms:CreateGrant and no wildcard action', () => {
    const key = signingKeyResource();
    const statements = asArray(key?.Properties?.KeyPolicy?.Statement).filter(isObject);
    const admin = statements.find((s) => s['Sid'] === 'AccountAdministration');
    expect(admin).toBeDefined();
    const adminActions = asArray(admin?.['Action']);
    expect(adminActions).toContain('kms:PutKeyPolicy'); // KMS lockout safety check
    expect(adminActions).not.toContain('kms:Sign');
    expect(adminActions).not.toContain('kms:CreateGrant');
    for (const statement of statements) {
      for (const action of asArray(statement['Action'])) expect(action).not.toMatch(/\*/);
    }
  });

  it('lets kms:Sign be used only by the login and refresh roles, with the RS256 algorithm', () => {
    const key = signingKeyResource();
    const statements = asArray(key?.Properties?.KeyPolicy?.Statement).filter(isObject);
    const signing = statements.filter((s) => asArray(s['Action']).includes('kms:Sign'));
    expect(signing).toHaveLength(1);
    expect(signing[0]?.['Condition']).toEqual({
      ArnEquals: {
        'aws:PrincipalArn': [
          { 'Fn::GetAtt': [roleOf('login'), 'Arn'] },
          { 'Fn::GetAtt': [roleOf('refresh'), 'Arn'] },
        ],
      },
      StringEquals: { 'kms:SigningAlgorithm': 'RSASSA_PKCS1_V1_5_SHA_256' },
    });
  });
});

describe('the MFA key', () => {
  it('is a symmetric ENCRYPT_DECRYPT key with automatic rotation, retained when removed', () => {
    expect(mfaKeyResource()?.Properties).toMatchObject({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', EnableKeyRotation: true });
    expect(mfaKeyResource()).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('gives the account no kms:Decrypt or kms:Encrypt and no wildcard action in its key policy', () => {
    const statements = asArray(mfaKeyResource()?.Properties?.KeyPolicy?.Statement).filter(isObject);
    const admin = asArray(statements.find((s) => s['Sid'] === 'AccountAdministration')?.['Action']);
    expect(admin).toContain('kms:PutKeyPolicy');
    expect(admin).not.toContain('kms:Decrypt');
    expect(admin).not.toContain('kms:Encrypt');
    for (const statement of statements) for (const action of asArray(statement['Action'])) expect(action).not.toMatch(/\*/);
  });

  it('lets only the account function encrypt, and only it and the login function decrypt, with the TOTP encryption context', () => {
    const statements = asArray(mfaKeyResource()?.Properties?.KeyPolicy?.Statement).filter(isObject);
    const use = (action: string) => statements.filter((s) => asArray(s['Action']).includes(action));
    const principals = (action: string) =>
      use(action).flatMap((s) => {
        const condition = s['Condition'];
        const arnEquals = isObject(condition) ? condition['ArnEquals'] : undefined;
        return asArray(isObject(arnEquals) ? arnEquals['aws:PrincipalArn'] : undefined);
      });
    expect(principals('kms:Encrypt')).toEqual([{ 'Fn::GetAtt': [roleOf('account'), 'Arn'] }]);
    expect(principals('kms:Decrypt')).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [roleOf('login'), 'Arn'] }, { 'Fn::GetAtt': [roleOf('account'), 'Arn'] }]),
    );
    expect(principals('kms:Decrypt')).toHaveLength(2);
    for (const statement of [...use('kms:Encrypt'), ...use('kms:Decrypt')]) {
      expect(statement['Condition']).toMatchObject({ StringEquals: { 'kms:EncryptionContext:purpose': 'totp' } });
    }
    expect(rolesGranted(template, 'kms:Decrypt')).toEqual([roleOf('account'), roleOf('login')].sort());
    expect(rolesGranted(template, 'kms:Encrypt')).toEqual([roleOf('account')]);
  });

  it('is named to the login and account functions by MFA_KEY_ID', () => {
    const mfaKeyArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.auth.mfaKey.key.keyArn), 'Arn'] };
    expect(envOf('login')['MFA_KEY_ID']).toEqual(mfaKeyArn);
    expect(envOf('account')['MFA_KEY_ID']).toEqual(mfaKeyArn);
    expect(envOf('refresh')['MFA_KEY_ID']).toBeUndefined();
  });
});

describe('the table', () => {
  it('has pk/sk string keys, no GSI, on-demand billing', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: Match.absent(),
    });
  });

  it('expires items through the ttl attribute', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
    });
  });

  it('has point-in-time recovery, deletion protection and KMS encryption at rest', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('is retained when removed from the stack', () => {
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });
});

describe('the functions', () => {
  it('are one per function name, all nodejs24.x on arm64 with an explicit memory size and timeout', () => {
    template.resourceCountIs('AWS::Lambda::Function', FUNCTION_NAMES.length);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const fn of functions) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.MemorySize).toBeGreaterThanOrEqual(256);
      expect(fn.Properties.Timeout).toBeLessThanOrEqual(10);
      expect(fn.Properties.Handler).toBe('index.handler');
    }
  });

  it('deploy to the Node.js major these tests run on, and one without the JSON.parse fault of 24.21', () => {
    const runtimes = new Set(Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => fn.Properties.Runtime));
    expect([...runtimes]).toEqual([`nodejs${process.versions.node.split('.')[0] ?? ''}.x`]);
    // Node 24.21.0 (V8 13.6) sometimes parsed the member name "\"" as "\\" once JSON.parse
    // had run a few thousand times; 24.22.3, pinned in package.json, does not.
    expect(process.versions.node).not.toBe('24.21.0');
  });

  it('run with source maps enabled, except the authorizer (cold start on every protected API)', () => {
    for (const name of FUNCTION_NAMES) {
      expect(envOf(name)['NODE_OPTIONS']).toBe(name === 'authorizer' ? undefined : '--enable-source-maps');
    }
  });

  it('each log to their own log group, kept one year and retained', () => {
    for (const name of FUNCTION_NAMES) {
      const logGroupId = logicalIdOf(stack, stack.auth.functions[name].logGroup.logGroupArn);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.anyValue(),
        LoggingConfig: { LogGroup: { Ref: logGroupId } },
      });
    }
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups.length).toBe(FUNCTION_NAMES.length + 1); // the functions + API access logs
    for (const logGroup of logGroups) {
      expect(logGroup.Properties.RetentionInDays).toBe(365);
      expect(logGroup.DeletionPolicy).toBe('Retain');
    }
  });

  it('get the environment variables the handlers read', () => {
    const common = ['TABLE_NAME', 'ISSUER', 'AUDIENCE', 'SIGNING_ALG', 'POWERTOOLS_SERVICE_NAME', 'LOG_LEVEL', 'POWERTOOLS_METRICS_NAMESPACE'];
    const issuing = [
      'SIGNING_KEY_ID',
      'CLIENT_ID',
      'ACCESS_TOKEN_TTL_SECONDS',
      'REFRESH_TOKEN_TTL_SECONDS',
      'REFRESH_ABSOLUTE_TTL_SECONDS',
      'REUSE_POLICY',
      'COOKIE_MODE',
      'CORS_ORIGINS',
      'REFRESH_COOKIE_PATH',
    ];
    const expected: Record<FunctionName, string[]> = {
      login: [...common, ...issuing, 'MFA_KEY_ID'],
      refresh: [...common, ...issuing],
      revoke: [...common, ...issuing, 'VERIFY_KEY_IDS'],
      jwks: [...common, 'VERIFY_KEY_IDS'],
      authorizer: [
        ...common,
        'VERIFY_KEY_IDS',
        'ROUTE_SCOPES',
        'AUTHORIZER_RESPONSE',
        'DENYLIST_CACHE_SECONDS',
        'CLOCK_SKEW_SECONDS',
      ],
      account: [...common, 'CLIENT_ID', 'ACCESS_TOKEN_TTL_SECONDS', 'REFRESH_TOKEN_TTL_SECONDS', 'REFRESH_ABSOLUTE_TTL_SECONDS', 'MFA_KEY_ID'],
    };
    for (const name of FUNCTION_NAMES) {
      expect(Object.keys(envOf(name))).toEqual(expect.arrayContaining(expected[name]));
    }
  });

  it('get the documented defaults', () => {
    expect(envOf('login')).toMatchObject({
      SIGNING_ALG: 'RS256',
      AUDIENCE: 'kms-jwt-auth',
      CLIENT_ID: 'kms-jwt-auth',
      ACCESS_TOKEN_TTL_SECONDS: '900',
      REFRESH_TOKEN_TTL_SECONDS: '604800',
      REFRESH_ABSOLUTE_TTL_SECONDS: '2592000',
      REUSE_POLICY: 'family',
      COOKIE_MODE: 'off',
      CORS_ORIGINS: '',
      REFRESH_COOKIE_PATH: '/refresh',
      LOG_LEVEL: 'INFO',
    });
    expect(envOf('authorizer')).toMatchObject({
      ROUTE_SCOPES: '{}',
      AUTHORIZER_RESPONSE: 'simple',
      DENYLIST_CACHE_SECONDS: '0',
      CLOCK_SKEW_SECONDS: '60',
    });
  });

  it('sign with the signing key and trust it for verification', () => {
    const keyId = logicalIdOf(stack, stack.auth.keys.signingKey.keyArn);
    expect(envOf('login')['SIGNING_KEY_ID']).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(envOf('authorizer')['VERIFY_KEY_IDS']).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('use the API endpoint as issuer when no custom domain is configured', () => {
    const apiId = logicalIdOf(stack, stack.auth.httpApi.apiId);
    expect(JSON.stringify(envOf('login')['ISSUER'])).toContain(apiId);
  });
});

describe('least privilege', () => {
  it('only the login and refresh roles may kms:Sign', () => {
    expect(rolesGranted(template, 'kms:Sign')).toEqual([roleOf('login'), roleOf('refresh')].sort());
  });

  /** `key/*` of this account and Region, as the template spells it. */
  const keysOfAccount = {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':key/*']],
  };
  const taggedForThisDeployment = () => ({
    StringEquals: { 'aws:ResourceTag/kms-jwt-auth:deployment': { Ref: logicalIdOf(stack, stack.auth.table.tableName) } },
  });

  it('kms:Sign is granted only on keys tagged for this deployment (the deploy-time key and the keys rotate-key creates)', () => {
    for (const name of ['login', 'refresh'] as const) {
      const sign = statementsOfRole(template, roleOf(name)).filter((s) => actionsOf(s).includes('kms:Sign'));
      expect(sign).toHaveLength(1);
      expect(asArray(sign[0]?.Resource)).toEqual([keysOfAccount]);
      expect(sign[0]?.['Condition']).toEqual(taggedForThisDeployment());
    }
  });

  it('the signers can read public keys (for the kid) of the same keys and nothing else in KMS but, for login, TOTP secrets', () => {
    for (const name of ['login', 'refresh'] as const) {
      const kms = statementsOfRole(template, roleOf(name)).filter((s) => s.Sid !== 'TotpSecrets' && actionsOf(s).some((a) => a.startsWith('kms:')));
      expect(kms.flatMap(actionsOf).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
      for (const statement of kms) {
        expect(asArray(statement.Resource)).toEqual([keysOfAccount]);
        expect(statement['Condition']).toEqual(taggedForThisDeployment());
      }
    }
  });

  it('every signing key carries the deployment tag the grants ask for, and the MFA key does not', () => {
    const tag = { Key: 'kms-jwt-auth:deployment', Value: { Ref: logicalIdOf(stack, stack.auth.table.tableName) } };
    const mfaKeyId = logicalIdOf(stack, stack.auth.mfaKey.key.keyArn);
    const keys = Object.entries(template.findResources('AWS::KMS::Key'));
    const signing = keys.filter(([id]) => id !== mfaKeyId);
    expect(signing.length).toBeGreaterThan(0);
    for (const [, key] of signing) expect((key as { Properties: { Tags: unknown } }).Properties.Tags).toContainEqual(tag);
    // The tag-conditioned Sign/GetPublicKey grants must never reach the key that seals TOTP secrets.
    const mfa = keys.find(([id]) => id === mfaKeyId)?.[1] as { Properties: { Tags?: unknown[] } } | undefined;
    expect(mfa).toBeDefined();
    expect(mfa?.Properties.Tags ?? []).not.toContainEqual(tag);
  });

  it('the authorizer, JWKS and revoke functions can only read public keys', () => {
    for (const name of ['authorizer', 'jwks', 'revoke'] as const) {
      const kmsActions = statementsOfRole(template, roleOf(name))
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('kms:'));
      expect(kmsActions).toEqual(['kms:GetPublicKey']);
    }
  });

  it('each function gets exactly its DynamoDB actions, on the table only', () => {
    const tableArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.auth.table.tableArn), 'Arn'] };
    for (const name of FUNCTION_NAMES) {
      const statements = statementsOfRole(template, roleOf(name)).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('dynamodb:')),
      );
      const actions = statements.flatMap(actionsOf).sort();
      expect(actions).toEqual([...FUNCTION_ACCESS[name].tableActions].sort());
      for (const statement of statements) expect(asArray(statement.Resource)).toEqual([tableArn]);
    }
  });

  it('the JWKS function reads one table item (the key registry) and writes nothing', () => {
    const actions = statementsOfRole(template, roleOf('jwks')).flatMap(actionsOf);
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual(['dynamodb:GetItem']);
  });

  it('no policy in the stack uses a wildcard action', () => {
    const offenders = allPolicyDocuments(template).flatMap(({ source, statements }) =>
      statements.flatMap((s) => actionsOf(s).filter((a) => a.includes('*')).map((a) => `${source}: ${a}`)),
    );
    expect(offenders).toEqual([]);
  });

  it('no IAM policy grants on Resource "*"', () => {
    const offenders = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([id, policy]) =>
      asArray(policy.Properties?.PolicyDocument?.Statement)
        .filter(isObject)
        .filter((s) => asArray(s['Resource']).includes('*'))
        .map(() => id),
    );
    expect(offenders).toEqual([]);
  });

  it('no role has an AWS managed policy attached', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('roles write only to their own log group', () => {
    for (const name of FUNCTION_NAMES) {
      const logGroupArn = { 'Fn::GetAtt': [logicalIdOf(stack, stack.auth.functions[name].logGroup.logGroupArn), 'Arn'] };
      const logs = statementsOfRole(template, roleOf(name)).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      expect(logs.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs.flatMap((s) => asArray(s.Resource))).toEqual([logGroupArn]);
    }
  });
});

describe('the HTTP API', () => {
  const AUTHORIZED_ROUTES: readonly string[] = ['POST /logout-all', 'GET /sessions', 'POST /sessions/revoke', ...ACCOUNT_ROUTE_KEYS];
  const routeKeys = (): string[] =>
    Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => String(r.Properties.RouteKey)).sort();

  it('has the routes of the contract', () => {
    expect(routeKeys()).toEqual(
      [
        'POST /login',
        'POST /login/mfa',
        ...PASSKEY_LOGIN_ROUTE_KEYS,
        'POST /refresh',
        'POST /revoke',
        'POST /refresh/revoke',
        'POST /logout-all',
        'GET /sessions',
        'POST /sessions/revoke',
        'GET /.well-known/jwks.json',
        'GET /.well-known/openid-configuration',
        ...ACCOUNT_ROUTE_KEYS,
      ].sort(),
    );
  });

  it('routes each path to its function', () => {
    const integrationTarget = (routeKey: string): string => {
      const [, route] = Object.entries(template.findResources('AWS::ApiGatewayV2::Route')).find(
        ([, r]) => r.Properties.RouteKey === routeKey,
      ) ?? [undefined, undefined];
      const target = JSON.stringify(route?.Properties?.Target);
      const integrationId = /"Ref":"([^"]+)"/.exec(target)?.[1] ?? '';
      const integration = template.toJSON()['Resources'][integrationId];
      return JSON.stringify(integration?.Properties?.IntegrationUri);
    };
    expect(integrationTarget('POST /login')).toContain(functionOf('login'));
    expect(integrationTarget('POST /login/mfa')).toContain(functionOf('login'));
    for (const routeKey of PASSKEY_LOGIN_ROUTE_KEYS) expect(integrationTarget(routeKey)).toContain(functionOf('login'));
    expect(integrationTarget('POST /refresh')).toContain(functionOf('refresh'));
    expect(integrationTarget('POST /revoke')).toContain(functionOf('revoke'));
    expect(integrationTarget('POST /refresh/revoke')).toContain(functionOf('revoke'));
    expect(integrationTarget('POST /logout-all')).toContain(functionOf('revoke'));
    expect(integrationTarget('GET /sessions')).toContain(functionOf('revoke'));
    expect(integrationTarget('POST /sessions/revoke')).toContain(functionOf('revoke'));
    expect(integrationTarget('GET /.well-known/jwks.json')).toContain(functionOf('jwks'));
    expect(integrationTarget('GET /.well-known/openid-configuration')).toContain(functionOf('jwks'));
    for (const routeKey of ACCOUNT_ROUTE_KEYS) expect(integrationTarget(routeKey)).toContain(functionOf('account'));
  });

  it('protects POST /logout-all, GET /sessions, POST /sessions/revoke and the account routes with the Lambda authorizer, payload 2.0, uncached', () => {
    for (const routeKey of AUTHORIZED_ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: routeKey,
        AuthorizationType: 'CUSTOM',
        AuthorizerId: Match.anyValue(),
      });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 0,
    });
  });

  it('leaves the token, revocation and key endpoints public', () => {
    for (const route of Object.values(template.findResources('AWS::ApiGatewayV2::Route'))) {
      if (AUTHORIZED_ROUTES.includes(String(route.Properties.RouteKey))) continue;
      expect(route.Properties.AuthorizationType ?? 'NONE').toBe('NONE');
    }
  });

  it('throttles the stage, and POST /login, POST /login/mfa and the passkey sign-in routes more tightly', () => {
    const login = { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 };
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      RouteSettings: { 'POST /login': login, 'POST /login/mfa': login, 'POST /login/passkey/options': login, 'POST /login/passkey': login },
    });
  });

  it('writes JSON access logs without request headers', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const format = String(stage?.Properties?.AccessLogSettings?.Format);
    const parsed: unknown = JSON.parse(format);
    expect(isObject(parsed) && parsed['requestId']).toBe('$context.requestId');
    expect(format.toLowerCase()).not.toContain('authorization');
    expect(stage?.Properties?.AccessLogSettings?.DestinationArn).toBeDefined();
  });

  it('sends no CORS headers unless origins are configured', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });
});

describe('alarms', () => {
  it('watch refresh-token reuse and login failures in the metrics the functions write (total over reasons)', () => {
    const namespace = envOf('login')['POWERTOOLS_METRICS_NAMESPACE'];
    expect(namespace).toMatch(/^KmsJwtAuth\//);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: namespace,
      MetricName: 'RefreshReuseDetected',
      Dimensions: [{ Name: 'service', Value: 'refresh' }],
      Statistic: 'Sum',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: namespace,
      MetricName: 'LoginFailed',
      Dimensions: [{ Name: 'service', Value: 'login' }],
      Statistic: 'Sum',
    });
  });

  it('alarm on reuse, login failure spikes, authorizer errors, throttles and API errors', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'RefreshReuseDetected', Threshold: 1 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'LoginFailed', Threshold: 50 });
    // Not the authorizer's Lambda Errors: every 401 is a thrown "Unauthorized" and counts there.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'AuthorizerFailures', Threshold: 1 });
    template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: AUTHORIZER_FAILURE_TERMS.map((term) => `?"${term}"`).join(' '),
      LogGroupName: { Ref: logicalIdOf(stack, stack.auth.functions.authorizer.logGroup.logGroupArn) },
      MetricTransformations: [Match.objectLike({ MetricName: 'AuthorizerFailures' })],
    });
    const alarmsOnAuthorizerErrors = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.MetricName === 'Errors' && JSON.stringify(alarm.Properties.Dimensions).includes(functionOf('authorizer')),
    );
    expect(alarmsOnAuthorizerErrors).toEqual([]);
    for (const name of FUNCTION_NAMES) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Throttles',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionOf(name) } }],
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '5xx', Namespace: 'AWS/ApiGateway' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: '4xx', Namespace: 'AWS/ApiGateway' });
  });

  it('do not fire on missing data', () => {
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.TreatMissingData).toBe('notBreaching');
    }
  });
});

describe('outputs', () => {
  it('include the API URL, issuer, JWKS URL, authorizer ARN, table name and key ARN', () => {
    const outputs = Object.keys(template.findOutputs('*'));
    expect(outputs).toEqual(
      expect.arrayContaining(['ApiUrl', 'Issuer', 'JwksUrl', 'AuthorizerFunctionArn', 'TableName', 'SigningKeyArn']),
    );
    template.hasOutput('AuthorizerFunctionArn', { Value: { 'Fn::GetAtt': [functionOf('authorizer'), 'Arn'] } });
    expect(JSON.stringify(template.findOutputs('JwksUrl'))).toContain('/.well-known/jwks.json');
  });
});

describe('cdk-nag', () => {
  it('reports no unacknowledged AwsSolutions or Serverless finding', () => {
    expect(nagFindings(stack)).toEqual([]);
  });

  it('every acknowledgment gives a real reason', () => {
    const acks = acknowledgments(stack);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) expect(ack.reason.length, `${ack.path} ${ack.id}`).toBeGreaterThan(40);
  });

  it('acknowledges one IAM wildcard finding per role of a function that uses the signing keys, the tag-conditioned key/* grant, and no other', () => {
    const wildcards = acknowledgments(stack).filter((ack) => ack.id.includes('IAM5') || ack.id.includes('StarPermissions'));
    expect(wildcards.map((ack) => ack.id)).toEqual(
      FUNCTION_NAMES.filter((name) => FUNCTION_ACCESS[name].keyAccess !== 'none').map(
        () => 'Annotation::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
      ),
    );
    for (const ack of wildcards) expect(ack.reason).toMatch(/aws:ResourceTag\/kms-jwt-auth:deployment/);
  });
});
