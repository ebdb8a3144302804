/**
 * Per-API route requirements: each attachment declares its own, the construct validates them with
 * the authorizer's parser and puts them in the API's stage variables, and the authorizer reads
 * them from the events API Gateway builds with those variables.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { describe, expect, it } from 'vitest';
import { routeRequirementStageVariables, type ApiRouteRequirements } from '../../lib/authorizer-attachment.ts';
import { KmsJwtAuth } from '../../lib/kms-jwt-auth.ts';
import { generateTestKey, validToken } from '../unit/verifier/token-factory.ts';
import { event, makeHarness } from '../unit/authorizer/harness.ts';
import { SYNTH_TIMEOUT_MS, testApp } from './support.ts';

const AUTHORIZER_ARN = 'arn:aws:lambda:eu-west-1:111111111111:function:authorizer';

function fixture() {
  const stack = new Stack(testApp(), 'Apis');
  const auth = KmsJwtAuth.fromAttributes(stack, 'Auth', { authorizerFunctionArn: AUTHORIZER_ARN });
  return { stack, auth };
}

function restApi(stack: Stack, name: string, authorizer: apigw.IAuthorizer, path = 'reports'): apigw.RestApi {
  const api = new apigw.RestApi(stack, name);
  api.root.addResource(path).addMethod('GET', new apigw.MockIntegration(), { authorizer });
  return api;
}

function httpApi(stack: Stack, name: string, authorizer: apigwv2.IHttpRouteAuthorizer): apigwv2.HttpApi {
  const api = new apigwv2.HttpApi(stack, name);
  api.addRoutes({ path: '/reports', methods: [apigwv2.HttpMethod.GET], integration: new HttpUrlIntegration(`${name}Backend`, 'https://backend.example.com/reports'), authorizer });
  return api;
}

const onlyResource = (template: Template, type: string, filter: (props: Record<string, unknown>) => boolean = () => true): Record<string, unknown> => {
  const found = Object.values(template.findResources(type))
    .map((r) => (r as { Properties: Record<string, unknown> }).Properties)
    .filter(filter);
  expect(found.length, type).toBe(1);
  return found[0] ?? {};
};

describe('two APIs sharing one authorizer require different scopes on the same path', () => {
  const restRoutes: ApiRouteRequirements = { 'GET /reports': ['audit'] };
  const httpRoutes: ApiRouteRequirements = { 'GET /reports': ['finance'] };
  const { stack, auth } = fixture();
  restApi(stack, 'Orders', auth.restRequestAuthorizer(stack, 'OrdersJwt', { routes: restRoutes }));
  httpApi(stack, 'Inventory', auth.httpLambdaAuthorizer(stack, 'InventoryJwt', { routes: httpRoutes }));
  const template = Template.fromStack(stack);
  const restStage = onlyResource(template, 'AWS::ApiGateway::Stage');
  const httpStage = onlyResource(template, 'AWS::ApiGatewayV2::Stage');
  const restVariables = restStage['Variables'] as Record<string, string>;
  const httpVariables = httpStage['StageVariables'] as Record<string, string>;

  it('puts each API\'s table in its own stage\'s variables, as the exported helper encodes it', () => {
    expect(restVariables).toEqual(routeRequirementStageVariables(restRoutes));
    expect(httpVariables).toEqual(routeRequirementStageVariables(httpRoutes));
    expect(restVariables).not.toEqual(httpVariables);
    expect(httpStage['StageName']).toBe('$default');
  });

  it('keys each authorizer\'s cache by the table\'s variables too', () => {
    const rest = onlyResource(template, 'AWS::ApiGateway::Authorizer');
    expect(String(rest['IdentitySource']).split(',').map((s) => s.trim())).toEqual([
      'method.request.header.Authorization',
      ...Object.keys(restVariables).map((name) => `stageVariables.${name}`),
    ]);
    const http = onlyResource(template, 'AWS::ApiGatewayV2::Authorizer');
    expect(http['IdentitySource']).toEqual(['$request.header.Authorization', ...Object.keys(httpVariables).map((name) => `$stageVariables.${name}`)]);
  });

  it('lets the same token through on the REST API and answers 403 insufficient_scope on the HTTP API', async () => {
    const key = generateTestKey('ES256');
    const { authorizer } = makeHarness([key], { routeRequirements: [] });
    const token = `Bearer ${validToken(key, { scope: 'openid audit' })}`;
    // The events API Gateway sends for GET /reports on each API, with each stage's variables.
    const restEvent: Record<string, unknown> = { ...event('rest-request-whoami', token), stageVariables: restVariables };
    restEvent.methodArn = String(restEvent.methodArn).replace(/\/GET\/whoami$/, '/GET/reports');
    const httpEvent: Record<string, unknown> = { ...event('http-v2-request-whoami', token), stageVariables: httpVariables, routeKey: 'GET /reports' };
    httpEvent.routeArn = String(httpEvent.routeArn).replace(/\/GET\/whoami$/, '/GET/reports');
    expect((await authorizer.decide(restEvent)).effect).toBe('allow');
    expect(await authorizer.decide(httpEvent)).toMatchObject({ effect: 'deny', status: 403, error: 'insufficient_scope', description: 'requires scope: finance' });
    // And the other way round for a token with the other scope.
    const other = `Bearer ${validToken(key, { scope: 'openid finance' })}`;
    const withToken = (e: Record<string, unknown>, authorization: string) =>
      JSON.parse(JSON.stringify(e).replaceAll(token, authorization)) as Record<string, unknown>;
    expect(await authorizer.decide(withToken(restEvent, other))).toMatchObject({ status: 403, error: 'insufficient_scope', description: 'requires scope: audit' });
    expect((await authorizer.decide(withToken(httpEvent, other))).effect).toBe('allow');
  });
});

describe('attachment options that cannot work fail the synth', () => {
  it('refuses routes on a TOKEN authorizer, saying why', () => {
    const { stack, auth } = fixture();
    expect(() => auth.restTokenAuthorizer(stack, 'Jwt', { routes: { 'GET /admin': ['admin'] } })).toThrow(
      /restTokenAuthorizer Jwt: routes need restRequestAuthorizer; API Gateway passes a TOKEN authorizer only the token and the method ARN/,
    );
  });

  it('refuses a REST API with its own routes that a TOKEN authorizer also protects', () => {
    const { stack, auth } = fixture();
    const api = restApi(stack, 'Api', auth.restRequestAuthorizer(stack, 'Request', { routes: { 'GET /reports': ['audit'] } }));
    expect(() =>
      api.root.addResource('other').addMethod('GET', new apigw.MockIntegration(), { authorizer: auth.restTokenAuthorizer(stack, 'Token') }),
    ).toThrow(/a TOKEN authorizer cannot see them/);
  });

  it('refuses a table the authorizer would refuse, with the authorizer\'s own message', () => {
    const { stack, auth } = fixture();
    expect(() => auth.restRequestAuthorizer(stack, 'Jwt', { routes: { 'GET /a*b': ['x'] } })).toThrow(
      /^restRequestAuthorizer Jwt: routes: "GET \/a\*b" has an unsupported path segment$/,
    );
    expect(() => auth.httpLambdaAuthorizer(stack, 'Http', { routes: { 'GET /a': { mfa: 'yes' } as never } })).toThrow(
      /^httpLambdaAuthorizer Http: routes: "GET \/a" mfa must be true or false$/,
    );
  });

  it('refuses two authorizers of one API with different tables, and accepts the same table twice', () => {
    const { stack, auth } = fixture();
    const api = restApi(stack, 'Api', auth.restRequestAuthorizer(stack, 'A', { routes: { 'GET /reports': ['audit'] } }));
    api.root.addResource('same').addMethod('GET', new apigw.MockIntegration(), {
      authorizer: auth.restRequestAuthorizer(stack, 'B', { routes: { 'GET /reports': ['audit'] } }),
    });
    expect(() =>
      api.root.addResource('other').addMethod('GET', new apigw.MockIntegration(), {
        authorizer: auth.restRequestAuthorizer(stack, 'C', { routes: { 'GET /reports': ['finance'] } }),
      }),
    ).toThrow(/different routes/);
  });
});

describe('every stage of the API carries the table', () => {
  const routes: ApiRouteRequirements = { 'GET /reports': ['audit'] };

  it('a REST API\'s other stages too, made before or after the attachment', () => {
    const { stack, auth } = fixture();
    const api = new apigw.RestApi(stack, 'Api');
    const deployment = api.latestDeployment;
    if (deployment === undefined) throw new Error('the API has no deployment');
    new apigw.Stage(stack, 'Before', { deployment, stageName: 'before' });
    api.root.addResource('reports').addMethod('GET', new apigw.MockIntegration(), { authorizer: auth.restRequestAuthorizer(stack, 'Jwt', { routes }) });
    new apigw.Stage(stack, 'After', { deployment, stageName: 'after' });
    const stages = Object.values(Template.fromStack(stack).findResources('AWS::ApiGateway::Stage')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    expect(stages.map((p) => p['StageName']).sort()).toEqual(['after', 'before', 'prod']);
    for (const stage of stages) expect(stage['Variables'], String(stage['StageName'])).toEqual(routeRequirementStageVariables(routes));
  });

  it('an HTTP API\'s added stages too, and not another API\'s stages', () => {
    const { stack, auth } = fixture();
    const api = httpApi(stack, 'Api', auth.httpLambdaAuthorizer(stack, 'Jwt', { routes }));
    api.addStage('Beta', { stageName: 'beta' });
    new apigwv2.HttpApi(stack, 'Other');
    const stages = Object.values(Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Stage')).map((r) => (r as { Properties: Record<string, unknown> }).Properties);
    const ours = stages.filter((p) => JSON.stringify(p['ApiId']).includes('Api'));
    expect(ours.map((p) => p['StageName']).sort()).toEqual(['$default', 'beta']);
    for (const stage of ours) expect(stage['StageVariables']).toEqual(routeRequirementStageVariables(routes));
    const other = stages.filter((p) => JSON.stringify(p['ApiId']).includes('Other'));
    expect(other).toHaveLength(1);
    expect(other[0]?.['StageVariables']).toBeUndefined();
  });
});

describe('a table larger than one stage variable', () => {
  it('is split over several variables, each an identity source', () => {
    const routes: Record<string, string[]> = {};
    for (let i = 0; i < 40; i++) routes[`GET /reports/section-${i}/{id}`] = [`reports:section-${i}`];
    const { stack, auth } = fixture();
    restApi(stack, 'Api', auth.restRequestAuthorizer(stack, 'Jwt', { routes }));
    const template = Template.fromStack(stack);
    const variables = onlyResource(template, 'AWS::ApiGateway::Stage')['Variables'] as Record<string, string>;
    expect(Object.keys(variables).length).toBeGreaterThan(1);
    for (const value of Object.values(variables)) expect(value.length).toBeLessThanOrEqual(512);
    const identity = String(onlyResource(template, 'AWS::ApiGateway::Authorizer')['IdentitySource']);
    for (const name of Object.keys(variables)) expect(identity).toContain(`stageVariables.${name}`);
  });

  it('keeps the API\'s own stage variables beside it', () => {
    const { stack, auth } = fixture();
    const api = new apigw.RestApi(stack, 'Api', { deployOptions: { variables: { backend: 'https://backend.example.com' } } });
    api.root.addMethod('GET', new apigw.MockIntegration(), { authorizer: auth.restRequestAuthorizer(stack, 'Jwt', { routes: { 'GET /': ['read'] } }) });
    const variables = onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::Stage')['Variables'] as Record<string, string>;
    expect(variables).toEqual({ backend: 'https://backend.example.com', ...routeRequirementStageVariables({ 'GET /': ['read'] }) });
  });
});

describe('the construct\'s own routeScopes shape the REST 403', () => {
  it('gives an API attached to a KmsJwtAuth whose routeScopes ask for step-up the RFC 9470 challenge', () => {
    const stack = new Stack(testApp(), 'Auth');
    const auth = new KmsJwtAuth(stack, 'Auth', { routeScopes: { 'POST /payments': { mfa: true, maxAuthAgeSeconds: 120 } } });
    restApi(stack, 'Api', auth.restTokenAuthorizer(stack, 'Jwt'), 'payments');
    const denied = onlyResource(Template.fromStack(stack), 'AWS::ApiGateway::GatewayResponse', (p) => p['ResponseType'] === 'ACCESS_DENIED');
    expect((denied['ResponseParameters'] as Record<string, string>)['gatewayresponse.header.WWW-Authenticate']).toBe(
      `'Bearer error="insufficient_user_authentication", error_description="A stronger or more recent authentication is required", max_age="120"'`,
    );
  }, SYNTH_TIMEOUT_MS);
});
