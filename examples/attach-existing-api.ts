/**
 * Attaching the kms-jwt-auth authorizer to APIs a team already runs.
 *
 *   npx cdk synth --app "npx tsx examples/attach-existing-api.ts"
 *
 * Three stacks:
 * - `ExampleAuth`: the auth service itself (KmsJwtAuthStack);
 * - `ExampleExistingApis`: a team's existing REST API (v1) and HTTP API (v2), in their own
 *   stack, protected by the authorizer of `ExampleAuth` (a TOKEN authorizer, a REQUEST
 *   authorizer and an HTTP API Lambda authorizer);
 * - `ExampleImportedAuth`: an API whose auth service was deployed elsewhere (another app, or
 *   without CDK), referenced only by the `AuthorizerFunctionArn` output of that deployment.
 *
 * The routes here answer with the authorizer context (`sub`, `scope`, `sid`, `jti`) so the result
 * can be seen with curl. `GET /admin` requires the `admin` scope through `routeScopes`.
 */
import { pathToFileURL } from 'node:url';
import { App, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { IKmsJwtAuthorizerSource } from '../lib/authorizer-attachment.ts';
import { KmsJwtAuth } from '../lib/kms-jwt-auth.ts';
import { KmsJwtAuthStack } from '../lib/kms-jwt-auth-stack.ts';

/** A stand-in backend: echoes what the authorizer put in the request context. */
const WHOAMI_SOURCE = `
export const handler = async (event) => {
  const ctx = event.requestContext?.authorizer ?? {};
  const claims = ctx.lambda ?? ctx; // HTTP API simple response | REST API
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: claims.sub, scope: claims.scope, sid: claims.sid, jti: claims.jti }),
  };
};`;

function whoamiFunction(scope: Construct, id: string): lambda.Function {
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromInline(WHOAMI_SOURCE),
    memorySize: 256,
    timeout: Duration.seconds(5),
    logGroup: new logs.LogGroup(scope, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
  });
}

interface ExistingApisStackProps extends StackProps {
  /**
   * The auth service: a `KmsJwtAuth` from another stack of this app, or the ARN of the
   * authorizer function of a deployment made elsewhere.
   */
  readonly auth: IKmsJwtAuthorizerSource | { readonly authorizerFunctionArn: string };
}

/** A team's existing APIs. Only the `authorizer` lines are about kms-jwt-auth. */
export class ExistingApisStack extends Stack {
  public readonly restApi: apigw.RestApi;
  public readonly httpApi: apigwv2.HttpApi;

  constructor(scope: Construct, id: string, props: ExistingApisStackProps) {
    super(scope, id, props);
    const auth: IKmsJwtAuthorizerSource =
      'restTokenAuthorizer' in props.auth
        ? props.auth
        : KmsJwtAuth.fromAttributes(this, 'DeployedAuth', {
            authorizerFunctionArn: props.auth.authorizerFunctionArn,
            authorizerResponse: 'simple',
          });
    const backend = whoamiFunction(this, 'Whoami');

    // --- REST API (v1) ---
    this.restApi = new apigw.RestApi(this, 'OrdersRestApi', {
      description: 'An existing REST API, now behind the kms-jwt-auth authorizer',
      deployOptions: { stageName: 'prod' },
    });
    // TOKEN authorizer: API Gateway passes only the Authorization header; malformed headers are
    // refused by API Gateway before the function runs.
    const tokenAuthorizer = auth.restTokenAuthorizer(this, 'JwtTokenAuthorizer');
    this.restApi.root
      .addResource('whoami')
      .addMethod('GET', new apigw.LambdaIntegration(backend), { authorizer: tokenAuthorizer });
    // REQUEST authorizer: the function sees the method and path, for per-route scopes.
    const requestAuthorizer = auth.restRequestAuthorizer(this, 'JwtRequestAuthorizer');
    this.restApi.root
      .addResource('admin')
      .addMethod('GET', new apigw.LambdaIntegration(backend), { authorizer: requestAuthorizer });

    // --- HTTP API (v2) ---
    this.httpApi = new apigwv2.HttpApi(this, 'InventoryHttpApi', {
      description: 'An existing HTTP API, now behind the kms-jwt-auth authorizer',
    });
    const jwtAuthorizer = auth.httpLambdaAuthorizer(this, 'JwtAuthorizer');
    const integration = new HttpLambdaIntegration('WhoamiIntegration', backend);
    this.httpApi.addRoutes({
      path: '/whoami',
      methods: [apigwv2.HttpMethod.GET],
      integration,
      authorizer: jwtAuthorizer,
    });
    this.httpApi.addRoutes({
      path: '/admin',
      methods: [apigwv2.HttpMethod.GET],
      integration,
      authorizer: jwtAuthorizer,
    });
  }
}

/** Builds the example app into `app` (the tests synthesize it). */
export function buildExampleApp(app: App): {
  authStack: KmsJwtAuthStack;
  apisStack: ExistingApisStack;
  importedStack: ExistingApisStack;
} {
  const authStack = new KmsJwtAuthStack(app, 'ExampleAuth', {
    auth: {
      // Throw-away example: let `cdk destroy` remove everything.
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      routeScopes: { 'GET /admin': ['admin'] },
    },
  });

  // Same app, another stack: pass the construct.
  const apisStack = new ExistingApisStack(app, 'ExampleExistingApis', { auth: authStack.auth });

  // A deployment made elsewhere (another app, or without CDK): only its AuthorizerFunctionArn
  // output is needed. The function must be in this stack's account and region.
  const arn: unknown = app.node.tryGetContext('example:authorizerFunctionArn');
  const importedStack = new ExistingApisStack(app, 'ExampleImportedAuth', {
    auth: {
      authorizerFunctionArn:
        typeof arn === 'string' ? arn : 'arn:aws:lambda:eu-west-1:111111111111:function:KmsJwtAuth-AuthorizerFunction',
    },
  });
  return { authStack, apisStack, importedStack };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildExampleApp(new App());
}
