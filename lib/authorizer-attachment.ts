import { Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/**
 * How the authorizer answers HTTP API (payload 2.0) events: a simple `{ isAuthorized, context }`
 * or an IAM policy. REST API events are always answered with an IAM policy. The function reads it
 * from `AUTHORIZER_RESPONSE`, so every HTTP API authorizer attached to one function uses the same.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
 */
export type AuthorizerResponse = 'simple' | 'iam';

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

  constructor(id: string, handler: lambda.IFunction, props: authorizers.HttpLambdaAuthorizerProps) {
    super(id, handler, props);
    this.routeAuthorizerId = id;
  }

  public override bind(options: apigwv2.HttpRouteAuthorizerBindOptions): apigwv2.HttpRouteAuthorizerConfig {
    const config = super.bind(options);
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

/**
 * CDK tells an authorizer which REST API it protects only when a method uses it
 * (`_attachToApi`), so that is where the API's gateway responses are added.
 */
class BearerTokenAuthorizer extends apigw.TokenAuthorizer {
  private readonly withGatewayResponses: boolean;

  constructor(scope: Construct, id: string, withGatewayResponses: boolean, props: apigw.TokenAuthorizerProps) {
    super(scope, id, props);
    this.withGatewayResponses = withGatewayResponses;
  }

  public override _attachToApi(restApi: apigw.IRestApi): void {
    super._attachToApi(restApi);
    if (this.withGatewayResponses) addBearerGatewayResponses(restApi);
  }
}

/** The same for a `REQUEST` authorizer. */
class BearerRequestAuthorizer extends apigw.RequestAuthorizer {
  private readonly withGatewayResponses: boolean;

  constructor(scope: Construct, id: string, withGatewayResponses: boolean, props: apigw.RequestAuthorizerProps) {
    super(scope, id, props);
    this.withGatewayResponses = withGatewayResponses;
  }

  public override _attachToApi(restApi: apigw.IRestApi): void {
    super._attachToApi(restApi);
    if (this.withGatewayResponses) addBearerGatewayResponses(restApi);
  }
}

/**
 * The three ways to attach the authorizer, shared by `KmsJwtAuth` and by deployments imported
 * with `KmsJwtAuth.fromAttributes`.
 *
 * When the API lives in another stack than the function, the function is referenced there by
 * ARN, so that the `lambda:InvokeFunction` permission for API Gateway is created in the API's
 * stack. Creating it in the function's stack would make the two stacks reference each other.
 */
export abstract class AuthorizerAttachment extends Construct implements IKmsJwtAuthorizerSource {
  public abstract readonly authorizerFunction: lambda.IFunction;
  public abstract readonly authorizerResponse: AuthorizerResponse;
  /** Cache TTL used when the options do not set one. */
  protected abstract readonly defaultAuthorizerCacheTtl: Duration;
  /** The function as referenced from each other stack, one reference per stack. */
  private readonly functionByStack = new Map<Stack, lambda.IFunction>();

  public restTokenAuthorizer(
    scope: Construct,
    id: string,
    options: AuthorizerAttachmentOptions = {},
  ): apigw.TokenAuthorizer {
    return new BearerTokenAuthorizer(scope, id, options.gatewayResponses ?? true, {
      handler: this.functionFor(scope),
      identitySource: apigw.IdentitySource.header(AUTHORIZATION_HEADER),
      validationRegex: BEARER_JWS_PATTERN,
      resultsCacheTtl: this.cacheTtl(options),
      authorizerName: options.authorizerName ?? id,
    });
  }

  public restRequestAuthorizer(
    scope: Construct,
    id: string,
    options: AuthorizerAttachmentOptions = {},
  ): apigw.RequestAuthorizer {
    return new BearerRequestAuthorizer(scope, id, options.gatewayResponses ?? true, {
      handler: this.functionFor(scope),
      identitySources: [apigw.IdentitySource.header(AUTHORIZATION_HEADER)],
      resultsCacheTtl: this.cacheTtl(options),
      authorizerName: options.authorizerName ?? id,
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
    return new PayloadV2HttpLambdaAuthorizer(id, this.functionFor(scope), {
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
    });
  }

  private cacheTtl(options: AuthorizerAttachmentOptions): Duration {
    const ttl = options.resultsCacheTtl ?? this.defaultAuthorizerCacheTtl;
    validateAuthorizerCacheTtl(ttl);
    return ttl;
  }

  /**
   * The function, as seen from the stack that `scope` belongs to. In another stack it is
   * referenced once, under an id derived from this construct's path, and shared by every
   * authorizer attached there: the ids callers choose for their authorizers (the same one for a
   * REST and an HTTP API, say) never produce a second construct beside it.
   */
  private functionFor(scope: Construct): lambda.IFunction {
    const fn = this.authorizerFunction;
    const apiStack = Stack.of(scope);
    if (apiStack === Stack.of(fn)) return fn;
    const known = this.functionByStack.get(apiStack);
    if (known !== undefined) return known;
    const imported = lambda.Function.fromFunctionAttributes(apiStack, `KmsJwtAuthorizerFunction${Names.uniqueId(this)}`, {
      functionArn: fn.functionArn,
      sameEnvironment: sameAccount(apiStack, Stack.of(fn)),
    });
    this.functionByStack.set(apiStack, imported);
    return imported;
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

function sameAccount(a: Stack, b: Stack): boolean {
  if (Token.isUnresolved(a.account) || Token.isUnresolved(b.account)) return true;
  return a.account === b.account;
}
