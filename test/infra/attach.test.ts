import { generateKeyPairSync, sign } from 'node:crypto';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildExampleApp, type ExistingApisStack } from '../../examples/attach-existing-api.ts';
import { BEARER_JWS_PATTERN } from '../../lib/authorizer-attachment.ts';
import { KmsJwtAuth } from '../../lib/kms-jwt-auth.ts';
import type { KmsJwtAuthStack } from '../../lib/kms-jwt-auth-stack.ts';
import { SYNTH_TIMEOUT_MS, testApp } from './support.ts';

let authStack: KmsJwtAuthStack;
let apisStack: ExistingApisStack;
let importedStack: ExistingApisStack;
let auth: Template;
let apis: Template;
let imported: Template;

beforeAll(() => {
  const app = testApp();
  ({ authStack, apisStack, importedStack } = buildExampleApp(app));
  // The whole example app synthesizes (cross-stack references resolve, no cycle).
  const assembly = app.synth();
  expect(assembly.stacks.map((s) => s.stackName).sort()).toEqual(
    ['ExampleAuth', 'ExampleExistingApis', 'ExampleImportedAuth'].sort(),
  );
  auth = Template.fromStack(authStack);
  apis = Template.fromStack(apisStack);
  imported = Template.fromStack(importedStack);
}, SYNTH_TIMEOUT_MS);

describe('attaching to an existing REST API in another stack', () => {
  it('creates a TOKEN authorizer on the Authorization header, uncached, that refuses non-Bearer headers', () => {
    apis.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'TOKEN',
      IdentitySource: 'method.request.header.Authorization',
      IdentityValidationExpression: BEARER_JWS_PATTERN,
      AuthorizerResultTtlInSeconds: 0,
    });
  });

  it('its validation expression lets a real access token through and refuses what the authorizer would', () => {
    // API Gateway applies it before invoking the authorizer: a pattern that refused genuine
    // tokens would lock everyone out, and one that passed junk would only cost invocations.
    const pattern = new RegExp(BEARER_JWS_PATTERN);
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = `${Buffer.from('{"alg":"ES256","typ":"at+jwt","kid":"k"}').toString('base64url')}.${Buffer.from('{"sub":"u"}').toString('base64url')}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`]) expect(pattern.test(header), header.slice(0, 7)).toBe(true);
    for (const header of [token, `Basic ${token}`, `Bearer  ${token}`, `Bearer ${token}.x`, `Bearer ${input}.`, `Bearer ${token}=`, 'Bearer a.b']) {
      expect(pattern.test(header), header.slice(0, 12)).toBe(false);
    }
  });

  it('creates a REQUEST authorizer with the Authorization header as identity source', () => {
    apis.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 0,
    });
  });

  it('protects the methods with them', () => {
    const methods = Object.values(apis.findResources('AWS::ApiGateway::Method'));
    expect(methods.length).toBe(2);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('CUSTOM');
  });

  it('puts one invoke permission per API in the API stack, scoped to that API\'s authorizers', () => {
    const permissions = Object.values(apis.findResources('AWS::Lambda::Permission', {
      Properties: { Principal: 'apigateway.amazonaws.com', SourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/authorizers/*'])] }) },
    }));
    // The REST API has two authorizers, the HTTP API one: two permissions, not three.
    expect(permissions.map((p) => JSON.stringify(p.Properties.SourceArn).match(/"Ref":"(\w+?Api)/)?.[1]).sort()).toEqual([
      'InventoryHttpApi',
      'OrdersRestApi',
    ]);
    for (const permission of permissions) expect(permission.Properties.Action).toBe('lambda:InvokeFunction');
  });

  it('reads the function ARN from the SSM parameter the auth stack writes, not from an export', () => {
    expect(JSON.stringify(apis.toJSON())).not.toContain('Fn::ImportValue');
    const parameters: Record<string, { Type: string; Default?: string }> = apis.toJSON()['Parameters'];
    const arnParameter = Object.entries(parameters).find(([, p]) => p.Default?.includes('/authorizer-function-arn'));
    expect(arnParameter?.[1].Type).toBe('AWS::SSM::Parameter::Value<String>');
    auth.hasResourceProperties('AWS::SSM::Parameter', { Name: arnParameter?.[1].Default, Type: 'String' });
    apis.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      AuthorizerUri: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: arnParameter?.[0] }])] }),
    });
  });

  it('leaves the auth stack free of references to the API stack', () => {
    expect(JSON.stringify(auth.toJSON())).not.toContain('ExampleExistingApis');
  });
});

describe('attaching to an existing HTTP API in another stack', () => {
  it('creates a Lambda authorizer with payload 2.0 and simple responses, uncached', () => {
    apis.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 0,
    });
  });

  it('protects both routes', () => {
    const routes = Object.values(apis.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(['GET /admin', 'GET /whoami']);
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe('CUSTOM');
  });
});

describe('attaching a deployment imported by attributes', () => {
  it('invokes the function by the given ARN and grants API Gateway the invoke permission', () => {
    const arn = 'arn:aws:lambda:eu-west-1:111111111111:function:KmsJwtAuth-AuthorizerFunction';
    imported.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: arn,
      Principal: 'apigateway.amazonaws.com',
    });
    imported.resourceCountIs('AWS::ApiGateway::Authorizer', 2);
    imported.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
  });

  it('answers HTTP API events with IAM policies on payload 2.0 when told so', () => {
    const stack = new Stack(testApp(), 'IamMode');
    const deployed = KmsJwtAuth.fromAttributes(stack, 'Auth', {
      authorizerFunctionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:authorizer',
      authorizerResponse: 'iam',
      authorizerCacheTtl: Duration.minutes(5),
    });
    const api = new apigwv2.HttpApi(stack, 'Api');
    api.addRoutes({
      path: '/orders',
      methods: [apigwv2.HttpMethod.GET],
      integration: new HttpUrlIntegration('Backend', 'https://backend.example.com/orders'),
      authorizer: deployed.httpLambdaAuthorizer(stack, 'Jwt'),
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: Match.absent(),
      AuthorizerResultTtlInSeconds: 300,
      // IAM policies name the routes they allow, so the token alone can key the cache.
      IdentitySource: ['$request.header.Authorization'],
    });
  });

  it('lets a REST API in the same stack as the construct use the function directly', () => {
    const rest = new apigw.RestApi(authStack, 'SameStackApi');
    rest.root.addMethod('GET', new apigw.MockIntegration(), {
      authorizer: authStack.auth.restTokenAuthorizer(authStack, 'SameStackAuthorizer'),
    });
    expect(() => authStack.auth.restRequestAuthorizer(authStack, 'Cached', { resultsCacheTtl: Duration.hours(2) })).toThrow(
      /cache TTL/,
    );
  });
});
