import { ArnFormat, Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, type IConstruct } from 'constructs';

/**
 * How the authorizer answers HTTP API (payload 2.0) events: a simple `{ isAuthorized, context }`
 * or an IAM policy. REST API events are always answered with an IAM policy. The function reads it
 * from `AUTHORIZER_RESPONSE`, so every HTTP API authorizer attached to one function uses the same.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */
export type AuthorizerResponse = 'simple' | 'iam';

/**
 * Which APIs the `lambda:InvokeFunction` permission for API Gateway admits.
 * - `api`: one permission per API that attaches the authorizer, covering all of that API's
 *   authorizers (`<apiId>/authorizers/*`). Each is one statement of the function's resource-based
 *   policy, which Lambda caps at 20 KB: about 200 APIs.
 * - `account`: one permission for every API Gateway API of the function's account and region
 *   (`*\/authorizers/*` with `AWS:SourceAccount`), created beside the function; attachments add
 *   none, so the number of APIs is unbounded. The trade-off: any API in the account, including
 *   one its owner did not mean to protect with this service, can invoke the function (and learn
 *   whether a token is valid), so choose it where the account's APIs are all trusted.
 * - `role`: no statement in the function's policy at all. Each stack that attaches the authorizer
 *   gets one IAM role that API Gateway assumes to invoke the function (the authorizer's
 *   credentials), allowed `lambda:InvokeFunction` on this function only; the number of APIs is
 *   unbounded and only APIs configured with that role (which needs `iam:PassRole` on it) can
 *   invoke the function. Same account only: another account's function would also need a
 *   statement for the role in its own policy.
 * https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
 */
export type AuthorizerInvokePermission = 'api' | 'account' | 'role';

export const AUTHORIZER_INVOKE_PERMISSIONS: readonly AuthorizerInvokePermission[] = ['api', 'account', 'role'];

export function validateAuthorizerInvokePermission(value: unknown): AuthorizerInvokePermission {
  const known = AUTHORIZER_INVOKE_PERMISSIONS.find((p) => p === value);
  if (known === undefined) {
    throw new Error(`authorizerInvokePermission must be one of ${AUTHORIZER_INVOKE_PERMISSIONS.join(', ')}, got ${String(value)}`);
  }
  return known;
}

const API_GATEWAY = new iam.ServicePrincipal('apigateway.amazonaws.com');

/** Called with each API an authorizer is attached to, once per authorizer and API. */
type OnAttach = (api: IConstruct, apiId: string) => void;

/** The header API Gateway passes to the authorizer (RFC 6750 §2.1). */
const AUTHORIZATION_HEADER = 'Authorization';

/**
 * API Gateway rejects a REST `TOKEN` request with 401 before invoking the function unless the
 * header is `Bearer <JWS compact>` (the scheme is case-insensitive, RFC 7235 §2.1).
 */
export const BEARER_JWS_PATTERN =
  '^[Bb][Ee][Aa][Rr][Ee][Rr] [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$';

export interface AuthorizerAttachmentOptions {
  /**
   * How long API Gateway caches a decision, keyed by the `Authorization` header. A cached
   * "allow" outlives revocation, so a revoked token keeps working at this API for up to this
   * long; 0 disables the cache. Maximum 1 hour.
   * @default the `authorizerCacheTtl` of the construct (0 seconds for `KmsJwtAuth`)
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * Name of the authorizer in API Gateway.
   * @default the construct id
   */
  readonly authorizerName?: string;
  /**
   * REST APIs only: add gateway responses to the API the authorizer attaches to, so that a denial
   * carries `WWW-Authenticate: Bearer error="invalid_token"` (401) or `error="insufficient_scope"`
   * (403) and a JSON body `{"error", "error_description"}` (RFC 6750 §3), and a failed authorizer
   * answers 503 `temporarily_unavailable` with `Retry-After` instead of 500. Added once per API;
   * a response type the API already customizes is left as it is. HTTP APIs cannot customize the
   * responses of a Lambda authorizer, so this does nothing there.
   * @default true
   */
  readonly gatewayResponses?: boolean;
}

/** Anything that can attach the kms-jwt-auth authorizer to an API. */
export interface IKmsJwtAuthorizerSource {
  /** The authorizer Lambda function. */
  readonly authorizerFunction: lambda.IFunction;
  /** How the function answers HTTP API events. */
  readonly authorizerResponse: AuthorizerResponse;
  /** A REST API (v1) `TOKEN` authorizer reading the `Authorization` header. */
  restTokenAuthorizer(scope: Construct, id: string, options?: AuthorizerAttachmentOptions): apigw.TokenAuthorizer;
  /** A REST API (v1) `REQUEST` authorizer whose identity source is the `Authorization` header. */
  restRequestAuthorizer(scope: Construct, id: string, options?: AuthorizerAttachmentOptions): apigw.RequestAuthorizer;
  /** An HTTP API (v2) Lambda authorizer, payload format 2.0. */
  httpLambdaAuthorizer(
    scope: Construct,
    id: string,
    options?: AuthorizerAttachmentOptions,
  ): authorizers.HttpLambdaAuthorizer;
}

/**
 * `HttpLambdaAuthorizer` picks payload format 1.0 whenever simple responses are off. The
 * authorizer handles payload 2.0 with IAM responses too, so keep 2.0 in both modes: one event
 * shape for every HTTP API.
 */
class PayloadV2HttpLambdaAuthorizer extends authorizers.HttpLambdaAuthorizer {
  private readonly routeAuthorizerId: string;
  private readonly onAttach: OnAttach;

  constructor(id: string, handler: lambda.IFunction, onAttach: OnAttach, props: authorizers.HttpLambdaAuthorizerProps) {
    super(id, handler, props);
    this.routeAuthorizerId = id;
    this.onAttach = onAttach;
  }

  public override bind(options: apigwv2.HttpRouteAuthorizerBindOptions): apigwv2.HttpRouteAuthorizerConfig {
    const config = super.bind(options);
    this.onAttach(options.route.httpApi, options.route.httpApi.apiId);
    const created = options.scope.node.tryFindChild(this.routeAuthorizerId);
    const cfn = created?.node.defaultChild;
    if (cfn instanceof apigwv2.CfnAuthorizer) {
      cfn.authorizerPayloadFormatVersion = '2.0';
    }
    return config;
  }
}

/**
 * Seconds a client should wait before retrying when the authorizer failed (throttled, timed out,
 * or its DynamoDB/KMS dependency is down): long enough for a throttling burst to drain.
 */
export const AUTHORIZER_RETRY_AFTER_SECONDS = 5;

interface BearerGatewayResponse {
  readonly id: string;
  readonly type: apigw.ResponseType;
  readonly statusCode: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly error_description: string };
}

/**
 * The gateway responses of a REST API protected by the authorizer. The authorizer can only pick
 * the response type (it throws `Unauthorized` -> UNAUTHORIZED; its policy denies the route ->
 * ACCESS_DENIED; it fails -> AUTHORIZER_FAILURE or AUTHORIZER_CONFIGURATION_ERROR); the status,
 * headers and body come from here. Header values are literals, so API Gateway wants them in
 * single quotes. RFC 6750 §3.1 asks for no error code when the request carried no token at all;
 * API Gateway gives that case the same UNAUTHORIZED response, so it says `invalid_token` too.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 */
const BEARER_GATEWAY_RESPONSES: readonly BearerGatewayResponse[] = [
  {
    id: 'Unauthorized',
    type: apigw.ResponseType.UNAUTHORIZED,
    statusCode: '401',
    headers: { 'WWW-Authenticate': `'Bearer error="invalid_token"'` },
    body: { error: 'invalid_token', error_description: 'The access token is missing, malformed, expired or revoked' },
  },
  {
    id: 'AccessDenied',
    type: apigw.ResponseType.ACCESS_DENIED,
    statusCode: '403',
    headers: { 'WWW-Authenticate': `'Bearer error="insufficient_scope"'` },
    body: { error: 'insufficient_scope', error_description: 'The access token lacks a scope this route requires' },
  },
  ...[
    { id: 'AuthorizerFailure', type: apigw.ResponseType.AUTHORIZER_FAILURE },
    { id: 'AuthorizerConfigurationError', type: apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR },
  ].map(({ id, type }) => ({
    id,
    type,
    statusCode: '503',
    headers: { 'Retry-After': `'${AUTHORIZER_RETRY_AFTER_SECONDS}'` },
    body: { error: 'temporarily_unavailable', error_description: 'The token could not be checked; retry later' },
  })),
];

/** Construct id prefix of the gateway responses, a child of the REST API they belong to. */
const GATEWAY_RESPONSE_ID_PREFIX = 'KmsJwtAuthGatewayResponse';

/**
 * Adds the responses above to `restApi`, once: several authorizers attached to one API find the
 * responses the first one added (by construct id), and a response type the API already
 * customizes is left alone (API Gateway keeps one response per type).
 */
function addBearerGatewayResponses(restApi: apigw.IRestApi): void {
  const customized = new Set(
    restApi.node
      .findAll()
      .filter((c): c is apigw.CfnGatewayResponse => c instanceof apigw.CfnGatewayResponse)
      .map((c) => c.responseType),
  );
  for (const response of BEARER_GATEWAY_RESPONSES) {
    const id = `${GATEWAY_RESPONSE_ID_PREFIX}${response.id}`;
    if (restApi.node.tryFindChild(id) !== undefined || customized.has(response.type.responseType)) continue;
    new apigw.GatewayResponse(restApi, id, {
      restApi,
      type: response.type,
      statusCode: response.statusCode,
      responseHeaders: response.headers,
      templates: { 'application/json': JSON.stringify(response.body) },
    });
  }
}

/** What attaching to a REST API adds: the API's invoke permission and, unless turned off, its gateway responses. */
type OnRestAttach = (restApi: apigw.IRestApi) => void;

/**
 * CDK tells an authorizer which REST API it protects only when a method uses it
 * (`_attachToApi`), so that is where the API's permission and gateway responses are added.
 */
class BearerTokenAuthorizer extends apigw.TokenAuthorizer {
  constructor(scope: Construct, id: string, private readonly onRestAttach: OnRestAttach, props: apigw.TokenAuthorizerProps) {
    super(scope, id, props);
  }

  public override _attachToApi(restApi: apigw.IRestApi): void {
    super._attachToApi(restApi);
    this.onRestAttach(restApi);
  }
}

/** The same for a `REQUEST` authorizer (CDK has no common base class to override once). */
class BearerRequestAuthorizer extends apigw.RequestAuthorizer {
  constructor(scope: Construct, id: string, private readonly onRestAttach: OnRestAttach, props: apigw.RequestAuthorizerProps) {
    super(scope, id, props);
  }

  public override _attachToApi(restApi: apigw.IRestApi): void {
    super._attachToApi(restApi);
    this.onRestAttach(restApi);
  }
}

/**
 * The three ways to attach the authorizer, shared by `KmsJwtAuth` and by deployments imported
 * with `KmsJwtAuth.fromAttributes`.
 *
 * API Gateway is allowed to invoke the function once per API (or once for the whole account, see
 * `AuthorizerInvokePermission`), not once per authorizer as CDK's authorizers do by themselves:
 * the function's resource-based policy is capped at 20 KB, which per-authorizer statements fill
 * at about 48 APIs. The permission of an API is created in the API's stack, so the function's
 * stack never references the API stacks.
 *
 * In another stack of the same app, the function is referenced by its ARN read from an SSM
 * parameter the function's stack writes, not through a CloudFormation export: an export would
 * forbid replacing the function, or deleting the auth stack, while any API stack imports it.
 */
export abstract class AuthorizerAttachment extends Construct implements IKmsJwtAuthorizerSource {
  public abstract readonly authorizerFunction: lambda.IFunction;
  public abstract readonly authorizerResponse: AuthorizerResponse;
  /** Cache TTL used when the options do not set one. */
  protected abstract readonly defaultAuthorizerCacheTtl: Duration;
  /** Which APIs the invoke permission admits; with `account`, attachments add none. */
  protected abstract readonly invokePermission: AuthorizerInvokePermission;
  /** The function as referenced from each stack, one reference per stack. */
  private readonly functionByStack = new Map<Stack, lambda.IFunction>();
  /** With `role`: the role API Gateway assumes in each stack, one per stack. */
  private readonly invokeRoleByStack = new Map<Stack, iam.Role>();
  /** The APIs that already have their invoke permission. */
  private readonly permittedApis = new Set<IConstruct>();
  /** The SSM parameter holding the function ARN, written once, on the first cross-stack attachment. */
  private functionArnParameter: ssm.StringParameter | undefined;

  public restTokenAuthorizer(
    scope: Construct,
    id: string,
    options: AuthorizerAttachmentOptions = {},
  ): apigw.TokenAuthorizer {
    return new BearerTokenAuthorizer(scope, id, this.onRestAttach(options), {
      handler: this.functionFor(scope),
      identitySource: apigw.IdentitySource.header(AUTHORIZATION_HEADER),
      validationRegex: BEARER_JWS_PATTERN,
      resultsCacheTtl: this.cacheTtl(options),
      authorizerName: options.authorizerName ?? id,
      ...this.restInvokeRole(scope),
    });
  }

  public restRequestAuthorizer(
    scope: Construct,
    id: string,
    options: AuthorizerAttachmentOptions = {},
  ): apigw.RequestAuthorizer {
    return new BearerRequestAuthorizer(scope, id, this.onRestAttach(options), {
      handler: this.functionFor(scope),
      identitySources: [apigw.IdentitySource.header(AUTHORIZATION_HEADER)],
      resultsCacheTtl: this.cacheTtl(options),
      authorizerName: options.authorizerName ?? id,
      ...this.restInvokeRole(scope),
    });
  }

  public httpLambdaAuthorizer(
    scope: Construct,
    id: string,
    options: AuthorizerAttachmentOptions = {},
  ): authorizers.HttpLambdaAuthorizer {
    const resultsCacheTtl = this.cacheTtl(options);
    // A cached simple response is one boolean for the whole identity source: with per-route
    // scopes, an allow cached for one route would be reused on another. Keying the cache by
    // route as well keeps a 403 on /admin from turning into a cached allow (or the reverse).
    const perRouteCache = this.authorizerResponse === 'simple' && resultsCacheTtl.toSeconds() > 0;
    return new PayloadV2HttpLambdaAuthorizer(id, this.functionFor(scope), this.permitApi, {
      authorizerName: options.authorizerName ?? id,
      identitySource: [
        `$request.header.${AUTHORIZATION_HEADER}`,
        ...(perRouteCache ? ['$context.routeKey'] : []),
      ],
      resultsCacheTtl,
      responseTypes: [
        this.authorizerResponse === 'simple'
          ? authorizers.HttpLambdaResponseType.SIMPLE
          : authorizers.HttpLambdaResponseType.IAM,
      ],
      ...(this.invokePermission === 'role' ? { role: this.invokeRoleFor(scope) } : {}),
    });
  }

  private cacheTtl(options: AuthorizerAttachmentOptions): Duration {
    const ttl = options.resultsCacheTtl ?? this.defaultAuthorizerCacheTtl;
    validateAuthorizerCacheTtl(ttl);
    return ttl;
  }

  /**
   * Whether CloudFormation in `apiStack` can add a statement to the function's policy: only in
   * the function's own account. Another account's function is granted by its owner.
   */
  protected canGrantInvokeIn(apiStack: Stack): boolean {
    return sameEnvironment(apiStack, Stack.of(this.authorizerFunction), 'account');
  }

  /**
   * With `role`, the REST authorizer's credentials. Passed without policy updates, so that CDK
   * does not add one inline policy per authorizer to it.
   */
  private restInvokeRole(scope: Construct): { assumeRole?: iam.IRole } {
    return this.invokePermission === 'role' ? { assumeRole: this.invokeRoleFor(scope).withoutPolicyUpdates() } : {};
  }

  /** The role API Gateway assumes to invoke the function from the stack of `scope`. */
  private invokeRoleFor(scope: Construct): iam.Role {
    const apiStack = Stack.of(scope);
    const known = this.invokeRoleByStack.get(apiStack);
    if (known !== undefined) return known;
    const role = new iam.Role(apiStack, `KmsJwtAuthorizerInvokeRole${Names.uniqueId(this)}`, {
      assumedBy: API_GATEWAY,
      description: 'API Gateway assumes this role to invoke the kms-jwt-auth authorizer',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.functionFor(apiStack).functionArn] }),
    );
    this.invokeRoleByStack.set(apiStack, role);
    return role;
  }

  /** Allows API Gateway to invoke the function for every authorizer of `api`, once per API. */
  private onRestAttach(options: AuthorizerAttachmentOptions): OnRestAttach {
    const withGatewayResponses = options.gatewayResponses ?? true;
    return (restApi) => {
      this.permitApi(restApi, restApi.restApiId);
      if (withGatewayResponses) addBearerGatewayResponses(restApi);
    };
  }

  private readonly permitApi: OnAttach = (api, apiId) => {
    if (this.invokePermission !== 'api' || this.permittedApis.has(api)) return;
    this.permittedApis.add(api);
    const apiStack = Stack.of(api);
    if (!this.canGrantInvokeIn(apiStack)) return;
    new lambda.CfnPermission(api, `KmsJwtAuthInvokePermission${Names.uniqueId(this)}`, {
      action: 'lambda:InvokeFunction',
      functionName: this.functionFor(api).functionArn,
      principal: API_GATEWAY.service,
      sourceArn: apiStack.formatArn({
        service: 'execute-api',
        resource: apiId,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
        resourceName: 'authorizers/*',
      }),
    });
  };

  /**
   * The function, as seen from the stack that `scope` belongs to, with CDK's own permissions
   * turned off (`permitApi` adds them per API). It is referenced once per stack, under an id
   * derived from this construct's path, and shared by every authorizer attached there: the ids
   * callers choose for their authorizers never produce a second construct beside it.
   */
  private functionFor(scope: IConstruct): lambda.IFunction {
    const apiStack = Stack.of(scope);
    const known = this.functionByStack.get(apiStack);
    if (known !== undefined) return known;
    const imported = lambda.Function.fromFunctionAttributes(apiStack, `KmsJwtAuthorizerFunction${Names.uniqueId(this)}`, {
      functionArn: this.functionArnIn(apiStack),
      skipPermissions: true,
    });
    this.functionByStack.set(apiStack, imported);
    return imported;
  }

  /**
   * The function ARN as `apiStack` may use it. A function of this app in another stack of the same
   * account and region: read at deploy time from an SSM parameter its stack writes (a
   * CloudFormation parameter of type `AWS::SSM::Parameter::Value<String>`, not an export), with
   * the API stack deployed after the auth stack.
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types
   */
  private functionArnIn(apiStack: Stack): string {
    const fn = this.authorizerFunction;
    const fnStack = Stack.of(fn);
    const crossStack =
      apiStack !== fnStack &&
      fn instanceof lambda.Function &&
      !Token.isUnresolved(fnStack.stackName) &&
      sameEnvironment(apiStack, fnStack, 'account') &&
      sameEnvironment(apiStack, fnStack, 'region');
    if (!crossStack) return fn.functionArn;
    const parameterName = `/kms-jwt-auth/${fnStack.stackName}/${Names.uniqueId(this)}/authorizer-function-arn`;
    this.functionArnParameter ??= new ssm.StringParameter(this, 'AuthorizerFunctionArnParameter', {
      parameterName,
      stringValue: fn.functionArn,
      description: 'ARN of the kms-jwt-auth authorizer function, read by the stacks that attach it',
    });
    apiStack.addStackDependency(fnStack, 'reads the authorizer function ARN from its SSM parameter');
    return ssm.StringParameter.valueForStringParameter(apiStack, parameterName);
  }
}

/** API Gateway accepts authorizer cache TTLs from 0 to 3600 seconds. */
export function validateAuthorizerCacheTtl(ttl: Duration): void {
  if (ttl.isUnresolved()) throw new Error('authorizer cache TTL must be a concrete duration');
  const seconds = ttl.toSeconds();
  if (seconds < 0 || seconds > 3600) {
    throw new Error(`authorizer cache TTL must be between 0 and 3600 seconds, got ${seconds}`);
  }
}

/**
 * Whether two stacks share an account (or region). Environment-agnostic stacks of one app are
 * deployed to the same environment.
 */
function sameEnvironment(a: Stack, b: Stack, part: 'account' | 'region'): boolean {
  if (Token.isUnresolved(a[part]) || Token.isUnresolved(b[part])) return true;
  return a[part] === b[part];
}
