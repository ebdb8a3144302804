/**
 * The token API: the HTTP API with its CORS and custom domain, the public routes of the five
 * functions (plus POST /logout-all, GET /sessions, POST /sessions/revoke and the account routes
 * behind the authorizer), and its stage with throttling and structured access logs. Everything is created in the caller's scope, so that logical ids stay
 * those of the composition (lib/kms-jwt-auth.ts).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import type { Construct } from 'constructs';
import { ACCOUNT_ROUTE_KEYS } from '../lambdas/account/routes.ts';
import { PASSKEY_LOGIN_ROUTE_KEYS } from '../lambdas/login/routes.ts';
import type { AuthFunction } from './auth-function.ts';
import type { FunctionName } from './function-access.ts';
import type { CustomDomainOptions, Settings } from './kms-jwt-auth-props.ts';

export interface TokenApi {
  readonly httpApi: apigwv2.HttpApi;
  readonly domainName?: apigwv2.DomainName;
}

/** The HTTP API (CORS for `corsOrigins`) and, when asked for, its custom domain and DNS records. */
export function createTokenApi(scope: Construct, settings: Settings, stackName: string, customDomain: CustomDomainOptions | undefined): TokenApi {
  const httpApi = new apigwv2.HttpApi(scope, 'HttpApi', {
    description: `kms-jwt-auth token API (${stackName})`,
    createDefaultStage: false,
    ...(settings.corsOrigins.length > 0
      ? {
          corsPreflight: {
            allowOrigins: [...settings.corsOrigins],
            allowMethods: [apigwv2.CorsHttpMethod.GET, apigwv2.CorsHttpMethod.POST, apigwv2.CorsHttpMethod.OPTIONS],
            allowHeaders: ['Authorization', 'Content-Type'],
            allowCredentials: settings.cookieMode,
            maxAge: Duration.hours(1),
          },
        }
      : {}),
  });

  let domainName: apigwv2.DomainName | undefined;
  if (customDomain !== undefined) {
    domainName = new apigwv2.DomainName(scope, 'DomainName', {
      domainName: customDomain.domainName,
      certificate: customDomain.certificate,
    });
    if (customDomain.hostedZone !== undefined) {
      const target = route53.RecordTarget.fromAlias(
        new targets.ApiGatewayv2DomainProperties(
          domainName.regionalDomainName,
          domainName.regionalHostedZoneId,
        ),
      );
      new route53.ARecord(scope, 'AliasRecord', {
        zone: customDomain.hostedZone,
        recordName: customDomain.domainName,
        target,
      });
      new route53.AaaaRecord(scope, 'AliasRecordIpv6', {
        zone: customDomain.hostedZone,
        recordName: customDomain.domainName,
        target,
      });
    }
  }
  return domainName === undefined ? { httpApi } : { httpApi, domainName };
}

export function functionId(name: FunctionName): string {
  return `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/** The routes; returns the public ones (all but POST /logout-all, GET /sessions, POST /sessions/revoke). */
export function addTokenRoutes(
  httpApi: apigwv2.HttpApi,
  functions: Readonly<Record<FunctionName, AuthFunction>>,
  logoutAllAuthorizer: apigwv2.IHttpRouteAuthorizer,
): apigwv2.HttpRoute[] {
  const integration = (name: FunctionName): HttpLambdaIntegration =>
    new HttpLambdaIntegration(`${functionId(name)}Integration`, functions[name].function);
  const revokeIntegration = integration('revoke');
  const jwksIntegration = integration('jwks');
  const loginIntegration = integration('login');
  const publicRoutes = [
    ...httpApi.addRoutes({ path: '/login', methods: [apigwv2.HttpMethod.POST], integration: loginIntegration }),
    // The second step of a login with MFA: the client authenticates with the mfa_token.
    ...httpApi.addRoutes({ path: '/login/mfa', methods: [apigwv2.HttpMethod.POST], integration: loginIntegration }),
    // Passkey sign-in (WebAuthn): public like POST /login, and throttled like it (createTokenStage).
    ...PASSKEY_LOGIN_ROUTE_KEYS.flatMap((routeKey) => {
      const [, path] = routeKey.split(' ') as [string, string];
      return httpApi.addRoutes({ path, methods: [apigwv2.HttpMethod.POST], integration: loginIntegration });
    }),
    ...httpApi.addRoutes({ path: '/refresh', methods: [apigwv2.HttpMethod.POST], integration: integration('refresh') }),
    ...httpApi.addRoutes({ path: '/revoke', methods: [apigwv2.HttpMethod.POST], integration: revokeIntegration }),
    // Cookie mode's logout: under the refresh cookie's path, the one path the browser sends it to.
    ...httpApi.addRoutes({ path: '/refresh/revoke', methods: [apigwv2.HttpMethod.POST], integration: revokeIntegration }),
    ...httpApi.addRoutes({ path: '/.well-known/jwks.json', methods: [apigwv2.HttpMethod.GET], integration: jwksIntegration }),
    ...httpApi.addRoutes({
      path: '/.well-known/openid-configuration',
      methods: [apigwv2.HttpMethod.GET],
      integration: jwksIntegration,
    }),
  ];
  // Logging out everywhere, and listing or ending one's own sessions, need a valid access token:
  // our own authorizer guards them and names the caller (sub, sid) to the revoke function.
  httpApi.addRoutes({
    path: '/logout-all',
    methods: [apigwv2.HttpMethod.POST],
    integration: revokeIntegration,
    authorizer: logoutAllAuthorizer,
  });
  httpApi.addRoutes({ path: '/sessions', methods: [apigwv2.HttpMethod.GET], integration: revokeIntegration, authorizer: logoutAllAuthorizer });
  httpApi.addRoutes({
    path: '/sessions/revoke',
    methods: [apigwv2.HttpMethod.POST],
    integration: revokeIntegration,
    authorizer: logoutAllAuthorizer,
  });
  // The signed-in user's own account: the account function, behind the same authorizer.
  const accountIntegration = integration('account');
  for (const routeKey of ACCOUNT_ROUTE_KEYS) {
    const [method, path] = routeKey.split(' ') as [apigwv2.HttpMethod, string];
    httpApi.addRoutes({ path, methods: [method], integration: accountIntegration, authorizer: logoutAllAuthorizer });
  }
  for (const route of publicRoutes) {
    Validations.of(route).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Token endpoint, revocation endpoint or key publication: the client authenticates with its credentials (the password, or at /login/mfa the mfa_token and a code) or refresh token (in the body, RFC 6749 §5, RFC 7009 §2.1, or in cookie mode the refresh cookie), and JWKS/discovery are public by definition (RFC 8414 §3). POST /logout-all, GET /sessions and POST /sessions/revoke are the routes behind the authorizer.',
    });
  }
  return publicRoutes;
}

/** The `$default` stage: throttling (tighter on POST /login), access logs, the domain mapping. */
export function createTokenStage(
  scope: Construct,
  settings: Settings,
  api: TokenApi,
  publicRoutes: readonly apigwv2.HttpRoute[],
): apigwv2.HttpStage {
  const { httpApi, domainName } = api;
  const accessLogs = new logs.LogGroup(scope, 'AccessLogs', {
    retention: settings.logRetention,
    removalPolicy: settings.removalPolicy,
  });
  const stage = new apigwv2.HttpStage(scope, 'DefaultStage', {
    httpApi,
    stageName: '$default',
    autoDeploy: true,
    throttle: settings.throttle,
    accessLogSettings: {
      destination: new apigwv2.LogGroupLogDestination(accessLogs),
      // Structured, and without headers: the Authorization header must never be logged.
      format: apigw.AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          ip: '$context.identity.sourceIp',
          requestTime: '$context.requestTime',
          routeKey: '$context.routeKey',
          status: '$context.status',
          protocol: '$context.protocol',
          responseLength: '$context.responseLength',
          responseLatency: '$context.responseLatency',
          integrationLatency: '$context.integrationLatency',
          integrationError: '$context.integrationErrorMessage',
          authorizerError: '$context.authorizer.error',
          userAgent: '$context.identity.userAgent',
        }),
      ),
    },
    ...(domainName !== undefined ? { domainMapping: { domainName: domainName } } : {}),
  });
  const cfnStage = stage.node.defaultChild;
  if (cfnStage instanceof apigwv2.CfnStage) {
    // `RouteSettings` is an untyped JSON map in CloudFormation: CDK passes it through as is,
    // so the keys must already be CloudFormation's (PascalCase).
    const loginThrottle = { ThrottlingRateLimit: settings.loginThrottle.rateLimit, ThrottlingBurstLimit: settings.loginThrottle.burstLimit };
    cfnStage.routeSettings = {
      'POST /login': loginThrottle,
      // Codes are guessed like passwords: the same stage limit as the password step.
      'POST /login/mfa': loginThrottle,
      ...Object.fromEntries(PASSKEY_LOGIN_ROUTE_KEYS.map((routeKey) => [routeKey, loginThrottle])),
    };
  }
  // Route settings name a route key that must exist before the stage is updated.
  for (const route of publicRoutes) stage.node.addDependency(route);
  return stage;
}
