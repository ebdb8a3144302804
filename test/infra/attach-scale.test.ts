import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { beforeAll, describe, expect, it } from 'vitest';
import { KmsJwtAuth } from '../../lib/kms-jwt-auth.ts';
import { KmsJwtAuthStack } from '../../lib/kms-jwt-auth-stack.ts';
import { SYNTH_TIMEOUT_MS, testApp } from './support.ts';

/**
 * Lambda keeps one resource-based policy per function and refuses a permission that would make it
 * larger than 20 KB ("The final policy size ... is bigger than the limit").
 * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
const LAMBDA_POLICY_LIMIT_BYTES = 20_480;
const APIS = 100;
const APIS_PER_STACK = 10; // CloudFormation's 500-resource limit per stack

/** Realistic values for what the template leaves to deploy time. */
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:KmsJwtAuth-AuthAuthorizerFunction0A1B2C3D-a1B2c3D4e5F6`;

type CfnResource = { readonly Type: string; readonly Properties?: Record<string, unknown> };

/**
 * The statement Lambda adds to the function's policy for one `AWS::Lambda::Permission`, with the
 * template's tokens replaced by values of the size they take once deployed: 10-character API ids,
 * a 12-digit account, the statement id CloudFormation generates (`<stack>-<logical id>-<12 chars>`).
 * https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
 */
function statementOf(stackName: string, logicalId: string, resource: CfnResource, apiIndex: number): string {
  const props = resource.Properties ?? {};
  const apiId = `a${String(apiIndex).padStart(9, '0')}`;
  const sourceArn = JSON.stringify(props['SourceArn']).replace(
    /.*"(:\*)?(\/authorizers\/[^"]*)".*/,
    (_match, anyApi: string | undefined, authorizers: string) => `arn:aws:execute-api:${REGION}:${ACCOUNT}:${anyApi === undefined ? apiId : '*'}${authorizers}`,
  );
  expect(sourceArn).toMatch(/^arn:aws:execute-api:[^"]+$/);
  const condition: Record<string, Record<string, string>> = { ArnLike: { 'AWS:SourceArn': sourceArn } };
  if (props['SourceAccount'] !== undefined) condition['StringEquals'] = { 'AWS:SourceAccount': ACCOUNT };
  return JSON.stringify({
    Sid: `${stackName}-${logicalId}-ABCDEFGHIJKL`.slice(0, 100),
    Effect: 'Allow',
    Principal: { Service: 'apigateway.amazonaws.com' },
    Action: 'lambda:InvokeFunction',
    Resource: FUNCTION_ARN,
    Condition: condition,
  });
}

/** The whole policy document: `{"Version","Id","Statement":[...]}`. */
function policyBytes(statements: readonly string[]): number {
  return Buffer.byteLength(`{"Version":"2012-10-17","Id":"default","Statement":[${statements.join(',')}]}`);
}

interface ScaleApp {
  readonly auth: KmsJwtAuth;
  readonly authTemplate: Template;
  readonly apiStacks: readonly { readonly name: string; readonly template: Template }[];
}

/** 100 APIs (half REST with a TOKEN and a REQUEST authorizer, half HTTP) in ten other stacks. */
function synthesizeScaleApp(invokePermission?: 'api' | 'account' | 'role'): ScaleApp {
  const app = testApp();
  const authStack = new KmsJwtAuthStack(app, 'ScaleAuth', {
    auth: invokePermission === undefined ? {} : { authorizerInvokePermission: invokePermission },
  });
  const auth = authStack.auth;
  const stacks: Stack[] = [];
  for (let s = 0; s < APIS / APIS_PER_STACK; s += 1) {
    const stack = new Stack(app, `ScaleApis${s}`);
    stacks.push(stack);
    for (let a = 0; a < APIS_PER_STACK; a += 2) {
      const rest = new apigw.RestApi(stack, `Rest${a}`, { cloudWatchRole: false });
      const options = { gatewayResponses: false };
      rest.root.addResource('orders').addMethod('GET', new apigw.MockIntegration(), {
        authorizer: auth.restTokenAuthorizer(stack, `Token${a}`, options),
      });
      rest.root.addResource('admin').addMethod('GET', new apigw.MockIntegration(), {
        authorizer: auth.restRequestAuthorizer(stack, `Request${a}`, options),
      });
      const http = new apigwv2.HttpApi(stack, `Http${a}`);
      const jwt = auth.httpLambdaAuthorizer(stack, `Jwt${a}`);
      for (const path of ['/orders', '/admin']) {
        http.addRoutes({ path, methods: [apigwv2.HttpMethod.GET], integration: new HttpUrlIntegration(`Backend${a}${path}`, 'https://backend.example.com'), authorizer: jwt });
      }
    }
  }
  app.synth();
  return {
    auth,
    authTemplate: Template.fromStack(authStack),
    apiStacks: stacks.map((stack) => ({ name: stack.stackName, template: Template.fromStack(stack) })),
  };
}

/** The statements of the authorizer function's policy that `template` creates. */
function permissionStatements(stackName: string, template: Template, firstApi: number, onlyAuthorizer = false): string[] {
  return Object.entries(template.findResources('AWS::Lambda::Permission'))
    .filter(([, r]) => (r as CfnResource).Properties?.['Principal'] === 'apigateway.amazonaws.com')
    .filter(([, r]) => !onlyAuthorizer || JSON.stringify((r as CfnResource).Properties?.['FunctionName']).includes('AuthorizerFunction'))
    .map(([logicalId, r], i) => statementOf(stackName, logicalId, r as CfnResource, firstApi + i));
}

describe('attaching the authorizer to 100 APIs in other stacks of the same app', () => {
  let perApi: ScaleApp;
  let account: ScaleApp;
  let role: ScaleApp;
  beforeAll(() => {
    perApi = synthesizeScaleApp();
    account = synthesizeScaleApp('account');
    role = synthesizeScaleApp('role');
  }, SYNTH_TIMEOUT_MS);

  it('grants API Gateway one invoke permission per API, however many authorizers the API has', () => {
    for (const { template } of perApi.apiStacks) {
      template.resourceCountIs('AWS::ApiGateway::Authorizer', APIS_PER_STACK);
      template.resourceCountIs('AWS::Lambda::Permission', APIS_PER_STACK);
      for (const permission of Object.values(template.findResources('AWS::Lambda::Permission'))) {
        expect(JSON.stringify(permission.Properties.SourceArn)).toMatch(/:execute-api:.*\/authorizers\/\*"\]\]\}$/);
      }
    }
  });

  it('one permission per API is one policy statement per API: about 420 bytes each, so the 20 KB policy holds about 48', () => {
    const statements = [
      ...perApi.apiStacks.flatMap(({ name, template }, s) => permissionStatements(name, template, s * APIS_PER_STACK)),
      // The token API's own authorizer (POST /logout-all) is in the same policy.
      ...permissionStatements('ScaleAuth', perApi.authTemplate, APIS, true),
    ];
    const bytes = policyBytes(statements);
    console.info(`authorizer policy, one permission per API, ${APIS} APIs: ${statements.length} statements, ${bytes} bytes`);
    expect(statements.length).toBe(APIS + 1);
    const perStatement = bytes / statements.length;
    expect(perStatement).toBeGreaterThan(300);
    expect(perStatement).toBeLessThan(500);
    expect(bytes).toBeGreaterThan(LAMBDA_POLICY_LIMIT_BYTES);
  });

  it('in account mode keeps the policy of 100 attachments under the 20 KB limit', () => {
    const statements = [
      ...account.apiStacks.flatMap(({ name, template }, s) => permissionStatements(name, template, s * APIS_PER_STACK)),
      ...permissionStatements('ScaleAuth', account.authTemplate, APIS, true),
    ];
    const bytes = policyBytes(statements);
    console.info(`authorizer policy, account mode, ${APIS} APIs: ${statements.length} statements, ${bytes} bytes`);
    expect(statements.length).toBe(1);
    expect(bytes).toBeLessThan(LAMBDA_POLICY_LIMIT_BYTES);
  });

  it('in account mode grants one permission, in the auth stack, for every API of its account and none in the API stacks', () => {
    for (const { template } of account.apiStacks) template.resourceCountIs('AWS::Lambda::Permission', 0);
    const permissions = Object.values(account.authTemplate.findResources('AWS::Lambda::Permission')).filter(
      (r) => r.Properties.Principal === 'apigateway.amazonaws.com' && JSON.stringify(r.Properties.FunctionName).includes('AuthorizerFunction'),
    );
    expect(permissions.length).toBe(1);
    expect(JSON.stringify(permissions[0]?.Properties.SourceArn)).toContain(':*/authorizers/*');
    expect(permissions[0]?.Properties.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
  });

  it('in role mode adds nothing to the policy: each API stack has one role, allowed to invoke that function only, that every authorizer there uses', () => {
    for (const { template } of role.apiStacks) {
      template.resourceCountIs('AWS::Lambda::Permission', 0);
      template.resourceCountIs('AWS::IAM::Role', 1);
      template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Action: 'sts:AssumeRole', Principal: { Service: 'apigateway.amazonaws.com' } })],
        }),
      });
      const policies = Object.values(template.findResources('AWS::IAM::Policy'));
      expect(policies.length).toBe(1);
      expect(policies[0]?.Properties.PolicyDocument.Statement).toEqual([
        { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: { Ref: expect.stringMatching(/authorizerfunctionarn/i) as unknown } },
      ]);
      const roleId = Object.keys(template.findResources('AWS::IAM::Role'))[0];
      const credentials = [
        ...Object.values(template.findResources('AWS::ApiGateway::Authorizer')).map((a) => a.Properties.AuthorizerCredentials),
        ...Object.values(template.findResources('AWS::ApiGatewayV2::Authorizer')).map((a) => a.Properties.AuthorizerCredentialsArn),
      ];
      expect(credentials.length).toBe(APIS_PER_STACK * 1.5);
      for (const c of credentials) expect(c).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
    }
    const authorizerPermissions = permissionStatements('ScaleAuth', role.authTemplate, 0, true);
    // The token API's own authorizer uses a role of the auth stack too.
    expect(authorizerPermissions).toEqual([]);
  });

  it('does not pin the auth stack: no API stack imports an export of it', () => {
    for (const { template } of perApi.apiStacks) {
      expect(JSON.stringify(template.toJSON()).match(/Fn::ImportValue/g) ?? []).toEqual([]);
    }
    const outputs: unknown = perApi.authTemplate.toJSON()['Outputs'];
    expect(Object.keys(typeof outputs === 'object' && outputs !== null ? outputs : {}).filter((k) => k.startsWith('ExportsOutput'))).toEqual([]);
  });
});

describe('choosing the invoke permission', () => {
  function importedApi(attrs: { authorizerInvokePermission?: unknown }): Template {
    const stack = new Stack(testApp(), 'Imported');
    const deployed = KmsJwtAuth.fromAttributes(stack, 'Auth', {
      authorizerFunctionArn: FUNCTION_ARN,
      ...(attrs as { authorizerInvokePermission?: 'api' | 'account' }),
    });
    const api = new apigwv2.HttpApi(stack, 'Api');
    api.addRoutes({
      path: '/orders',
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpUrlIntegration('Backend', 'https://backend.example.com'),
      authorizer: deployed.httpLambdaAuthorizer(stack, 'Jwt'),
    });
    return Template.fromStack(stack);
  }

  it('a deployment imported with account mode adds no permission of its own', () => {
    importedApi({ authorizerInvokePermission: 'account' }).resourceCountIs('AWS::Lambda::Permission', 0);
    importedApi({}).resourceCountIs('AWS::Lambda::Permission', 1);
  });

  it('refuses an unknown mode at synth instead of granting something unexpected', () => {
    expect(() => importedApi({ authorizerInvokePermission: 'everyone' })).toThrow(/authorizerInvokePermission must be one of api, account, role/);
    expect(() => new KmsJwtAuthStack(testApp(), 'Bad', { auth: { authorizerInvokePermission: 'all' as 'api' } })).toThrow(
      /authorizerInvokePermission/,
    );
  });
});
