import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUrlIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { describe, expect, it } from 'vitest';
import type { Construct } from 'constructs';
import type { ApiRouteRequirements } from '../../lib/authorizer-attachment.ts';
import { ImportedKmsJwtAuth } from '../../lib/imported-kms-jwt-auth.ts';
import { KmsJwtAuth } from '../../lib/kms-jwt-auth.ts';
import { testApp } from './support.ts';

const AUTHORIZER_ARN = 'arn:aws:lambda:eu-west-1:111111111111:function:authorizer';

/** A deployment referenced by ARN whose routeScopes are known, as `KmsJwtAuth` knows its own. */
class StackTableAuth extends ImportedKmsJwtAuth {
  constructor(scope: Construct, id: string, private readonly routeScopes: Record<string, unknown>) {
    super(scope, id, { authorizerFunctionArn: AUTHORIZER_ARN });
  }
  protected override stackRouteRequirements(): ApiRouteRequirements {
    return this.routeScopes as ApiRouteRequirements;
  }
}

interface GatewayResponseProps {
  readonly ResponseType: string;
  readonly StatusCode?: string;
  readonly ResponseParameters?: Record<string, string>;
  readonly ResponseTemplates?: Record<string, string>;
}

function restApiWith(attach: (stack: Stack, deployed: ReturnType<typeof KmsJwtAuth.fromAttributes>, api: apigw.RestApi) => void): Template {
  const stack = new Stack(testApp(), 'RestResponses');
  const deployed = KmsJwtAuth.fromAttributes(stack, 'Auth', { authorizerFunctionArn: AUTHORIZER_ARN });
  const api = new apigw.RestApi(stack, 'Api');
  attach(stack, deployed, api);
  return Template.fromStack(stack);
}

function gatewayResponses(template: Template): Map<string, GatewayResponseProps> {
  const byType = new Map<string, GatewayResponseProps>();
  for (const resource of Object.values(template.findResources('AWS::ApiGateway::GatewayResponse'))) {
    const props = (resource as { Properties: GatewayResponseProps }).Properties;
    expect(byType.has(props.ResponseType), `one ${props.ResponseType} response`).toBe(false);
    byType.set(props.ResponseType, props);
  }
  return byType;
}

function body(response: GatewayResponseProps | undefined): unknown {
  const template = response?.ResponseTemplates?.['application/json'];
  if (template === undefined) throw new Error('no application/json template');
  return JSON.parse(template);
}

describe('REST API gateway responses (RFC 6750 §3)', () => {
  const template = restApiWith((stack, deployed, api) => {
    api.root.addResource('token').addMethod('GET', new apigw.MockIntegration(), {
      authorizer: deployed.restTokenAuthorizer(stack, 'Token'),
    });
    api.root.addResource('request').addMethod('GET', new apigw.MockIntegration(), {
      authorizer: deployed.restRequestAuthorizer(stack, 'Request'),
    });
  });
  const responses = gatewayResponses(template);

  it('answers 401 with WWW-Authenticate: Bearer error="invalid_token" and a JSON error body', () => {
    const unauthorized = responses.get('UNAUTHORIZED');
    expect(unauthorized?.StatusCode).toBe('401');
    // API Gateway takes header values as quoted literals (single quotes) or mapping expressions.
    expect(unauthorized?.ResponseParameters?.['gatewayresponse.header.WWW-Authenticate']).toBe(`'Bearer error="invalid_token"'`);
    expect(body(unauthorized)).toEqual({ error: 'invalid_token', error_description: expect.any(String) });
  });

  it('answers 403 with WWW-Authenticate: Bearer error="insufficient_scope" and a JSON error body', () => {
    const denied = responses.get('ACCESS_DENIED');
    expect(denied?.StatusCode).toBe('403');
    expect(denied?.ResponseParameters?.['gatewayresponse.header.WWW-Authenticate']).toBe(`'Bearer error="insufficient_scope"'`);
    expect(body(denied)).toEqual({ error: 'insufficient_scope', error_description: expect.any(String) });
  });

  it('answers an authorizer that failed or could not be invoked with 503, Retry-After and temporarily_unavailable', () => {
    for (const type of ['AUTHORIZER_FAILURE', 'AUTHORIZER_CONFIGURATION_ERROR']) {
      const failure = responses.get(type);
      expect(failure?.StatusCode, type).toBe('503');
      expect(failure?.ResponseParameters?.['gatewayresponse.header.Retry-After'], type).toMatch(/^'[1-9][0-9]*'$/);
      expect(failure?.ResponseParameters?.['gatewayresponse.header.WWW-Authenticate'], type).toBeUndefined();
      expect(body(failure), type).toEqual({ error: 'temporarily_unavailable', error_description: expect.any(String) });
    }
  });

  it('adds each response once per API although two authorizers attach to it', () => {
    expect([...responses.keys()].sort()).toEqual(
      ['ACCESS_DENIED', 'AUTHORIZER_CONFIGURATION_ERROR', 'AUTHORIZER_FAILURE', 'UNAUTHORIZED'].sort(),
    );
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 2);
  });

  it('puts the responses on every REST API an authorizer attaches to', () => {
    const stack = new Stack(testApp(), 'TwoApis');
    const deployed = KmsJwtAuth.fromAttributes(stack, 'Auth', { authorizerFunctionArn: AUTHORIZER_ARN });
    for (const name of ['A', 'B']) {
      const api = new apigw.RestApi(stack, name);
      api.root.addMethod('GET', new apigw.MockIntegration(), { authorizer: deployed.restTokenAuthorizer(stack, `Jwt${name}`) });
    }
    Template.fromStack(stack).resourceCountIs('AWS::ApiGateway::GatewayResponse', 8);
  });
});

describe('REST API 403 when the API requires step-up (RFC 9470 §3)', () => {
  const accessDenied = (routes: Record<string, unknown>, stackRouteScopes?: Record<string, unknown>) => {
    const stack = new Stack(testApp(), 'StepUp');
    const deployed =
      stackRouteScopes === undefined
        ? KmsJwtAuth.fromAttributes(stack, 'Auth', { authorizerFunctionArn: AUTHORIZER_ARN })
        : new StackTableAuth(stack, 'Auth', stackRouteScopes);
    const api = new apigw.RestApi(stack, 'Api');
    api.root.addResource('payments').addMethod('POST', new apigw.MockIntegration(), {
      authorizer: deployed.restRequestAuthorizer(stack, 'Jwt', { routes: routes as never }),
    });
    const denied = gatewayResponses(Template.fromStack(stack)).get('ACCESS_DENIED');
    expect(denied?.StatusCode).toBe('403');
    return { header: denied?.ResponseParameters?.['gatewayresponse.header.WWW-Authenticate'], body: body(denied) };
  };

  it('says insufficient_user_authentication with max_age when every rule asks for the same age and no scope', () => {
    const { header, body: json } = accessDenied({ 'POST /payments': { mfa: true, maxAuthAgeSeconds: 300 } }, {});
    expect(header).toBe(`'Bearer error="insufficient_user_authentication", error_description="A stronger or more recent authentication is required", max_age="300"'`);
    expect(json).toEqual({ error: 'insufficient_user_authentication', error_description: 'A stronger or more recent authentication is required' });
  });

  it('leaves max_age out when the rules ask for different ages (or none)', () => {
    const { header } = accessDenied({ 'POST /payments': { mfa: true }, 'GET /x': { maxAuthAgeSeconds: 60 } }, {});
    expect(header).toMatch(/^'Bearer error="insufficient_user_authentication", error_description="[^"]+"'$/);
  });

  it('says insufficient_user_authentication, without max_age, when scopes may be what is missing too', () => {
    const { header, body: json } = accessDenied({ 'POST /payments': { maxAuthAgeSeconds: 300 } }, { 'GET /admin': ['admin'] });
    expect(header).toMatch(/^'Bearer error="insufficient_user_authentication", error_description="The access token lacks a scope, or a strong or recent enough authentication, that this route requires"'$/);
    expect(json).toMatchObject({ error: 'insufficient_user_authentication' });
    // A deployment referenced by ARN: its routeScopes are unknown, so scopes may be missing.
    expect(accessDenied({ 'POST /payments': { maxAuthAgeSeconds: 300 } }).header).not.toContain('max_age');
  });

  it('sees a step-up rule of the deployment\'s routeScopes too', () => {
    expect(accessDenied({ 'GET /reports': ['audit'] }, { 'POST /payments': { mfa: true } }).header).toContain('insufficient_user_authentication');
  });

  it('keeps insufficient_scope when nothing asks for step-up', () => {
    expect(accessDenied({ 'GET /reports': ['audit'] }, { 'GET /admin': ['admin'] }).header).toBe(`'Bearer error="insufficient_scope"'`);
  });
});

describe('REST API gateway responses the API already defines', () => {
  it('leaves a response type the API customizes itself alone and adds the others', () => {
    const template = restApiWith((stack, deployed, api) => {
      api.addGatewayResponse('OwnUnauthorized', { type: apigw.ResponseType.UNAUTHORIZED, statusCode: '401' });
      api.root.addMethod('GET', new apigw.MockIntegration(), { authorizer: deployed.restTokenAuthorizer(stack, 'Jwt') });
    });
    const responses = gatewayResponses(template);
    expect(responses.get('UNAUTHORIZED')?.ResponseParameters).toBeUndefined();
    expect(responses.get('ACCESS_DENIED')?.StatusCode).toBe('403');
  });

  it('adds none when told not to', () => {
    const template = restApiWith((stack, deployed, api) => {
      api.root.addMethod('GET', new apigw.MockIntegration(), {
        authorizer: deployed.restTokenAuthorizer(stack, 'Jwt', { gatewayResponses: false }),
      });
    });
    template.resourceCountIs('AWS::ApiGateway::GatewayResponse', 0);
    template.resourceCountIs('AWS::ApiGateway::Authorizer', 1);
  });
});

describe('HTTP APIs', () => {
  it('get no gateway responses: HTTP API Lambda authorizers cannot customize 401/403', () => {
    const stack = new Stack(testApp(), 'Http');
    const deployed = KmsJwtAuth.fromAttributes(stack, 'Auth', { authorizerFunctionArn: AUTHORIZER_ARN });
    const api = new apigwv2.HttpApi(stack, 'Api');
    api.addRoutes({
      path: '/orders',
      integration: new HttpUrlIntegration('Backend', 'https://backend.example.com/orders'),
      authorizer: deployed.httpLambdaAuthorizer(stack, 'Jwt'),
    });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ApiGateway::GatewayResponse', 0);
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
  });
});
