import { ArnFormat, Aspects, CfnResource, Duration, Lazy, Names, Stack, Token, type IAspect } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct, type IConstruct } from 'constructs';
import { encodeRouteRequirements } from '../lambdas/core/route-requirements-codec.ts';
import { parseRouteRequirements, type RouteRequirement, type RouteRequirementInput } from '../lambdas/core/route-requirements.ts';

export type { RouteRequirementInput } from '../lambdas/core/route-requirements.ts';

/**
 * What the routes of one API require: `"METHOD /path"` (`ANY` for every method; `{param}`,
 * `{proxy+}` and a trailing `*` as in `routeScopes`) to the scopes a token must all hold
 * (`['admin']`) or to `{ scopes?, mfa?, maxAuthAgeSeconds? }`: `mfa: true` needs `"mfa"` in the
 * token's `amr` (RFC 8176), `maxAuthAgeSeconds` an authentication at most that long ago; either
 * missing answers 403 `insufficient_user_authentication` (RFC 9470).
 */
export type ApiRouteRequirements = Readonly<Record<string, RouteRequirementInput>>;

/**
 * The stage variables that carry `routes` to the authorizer, for stages the attachment does not
 * set itself (stages of the API defined outside the API's stack, or without CDK): every stage
 * of an API whose authorizer was given `routes` must hold them. They are identity sources, so with
 * a cache TTL above 0 API Gateway answers 401 on a stage without them; with the TTL at 0 the
 * authorizer would see no table there and apply only the deployment's `routeScopes`. Validated by
 * the authorizer's own parser; throws with its message.
 */
export function routeRequirementStageVariables(routes: ApiRouteRequirements): Record<string, string> {
  return encodeRouteRequirements(routes);
}

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
  /**
   * This API's own route requirements, on top of the deployment's `routeScopes` (a request needs
   * what both ask). Carried in the API's stage variables (set on every stage of the API in its
   * stack; `routeRequirementStageVariables` gives them for stages made elsewhere), which are
   * identity sources, so the authorizer cache is keyed by them too.
   * `REQUEST` and HTTP API authorizers only: API Gateway does not pass stage variables to a `TOKEN`
   * authorizer. Every authorizer of one API must be given the same table.
   * @default none (only the deployment's `routeScopes`)
   */
  readonly routes?: ApiRouteRequirements;
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
  /** The JSON body `{"error", "error_description"}`. */
  readonly template: string;
}

/**
 * What can make one REST API answer 403, gathered at synth from every attachment to it, for its
 * `ACCESS_DENIED` response (whose headers API Gateway only takes as literals or request values,
 * never from the authorizer's answer, so one response must serve every route of the API).
 */
interface ApiDenials {
  /** Every requirement of the deployment's table (when known) and of the API's own. */
  readonly requirements: RouteRequirement[];
  /** A deployment referenced by ARN: its `routeScopes` are not known here. */
  stackTableUnknown: boolean;
  /** The API's own table, as encoded (one per API: the stage variables are the API stage's). */
  routesText: string | undefined;
  /** A `TOKEN` authorizer of ours protects some method of the API (it cannot see `routes`). */
  tokenAuthorizer: boolean;
}

const denialsByApi = new WeakMap<IConstruct, ApiDenials>();

function denialsOf(api: IConstruct): ApiDenials {
  let denials = denialsByApi.get(api);
  if (denials === undefined) {
    denials = { requirements: [], stackTableUnknown: false, routesText: undefined, tokenAuthorizer: false };
    denialsByApi.set(api, denials);
  }
  return denials;
}

const STEP_UP_ERROR = 'insufficient_user_authentication';

/**
 * The `ACCESS_DENIED` answer of an API. Without step-up rules it is RFC 6750's
 * `insufficient_scope`. With them it is RFC 9470 §3's challenge, `error="insufficient_user_authentication"`,
 * with `max_age` when every rule of the API asks for the same age and no scope (so any 403 there
 * is cured by authenticating again within it); `acr_values` is left out because the service issues
 * `amr`, not `acr`. An API that requires both scopes and step-up gets the step-up challenge: a
 * client that re-authenticates in vain meets the same 403 once more, while one told
 * `insufficient_scope` on a step-up route would never be asked to authenticate again.
 */
function accessDeniedAnswer(denials: ApiDenials): { header: string; body: { error: string; error_description: string } } {
  const stepUp = denials.requirements.some((r) => r.mfa || r.maxAuthAgeSeconds !== undefined);
  if (!stepUp) {
    return {
      header: 'Bearer error="insufficient_scope"',
      body: { error: 'insufficient_scope', error_description: 'The access token lacks a scope this route requires' },
    };
  }
  const onlyStepUp = !denials.stackTableUnknown && denials.requirements.every((r) => r.scopes.length === 0);
  const ages = new Set(denials.requirements.map((r) => r.maxAuthAgeSeconds));
  const [age] = ages;
  const maxAge = onlyStepUp && ages.size === 1 && age !== undefined ? age : undefined;
  const description = onlyStepUp
    ? 'A stronger or more recent authentication is required'
    : 'The access token lacks a scope, or a strong or recent enough authentication, that this route requires';
  return {
    header: `Bearer error="${STEP_UP_ERROR}", error_description="${description}"${maxAge === undefined ? '' : `, max_age="${maxAge}"`}`,
    body: { error: STEP_UP_ERROR, error_description: description },
  };
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
    template: JSON.stringify({ error: 'invalid_token', error_description: 'The access token is missing, malformed, expired or revoked' }),
  },
  ...[
    { id: 'AuthorizerFailure', type: apigw.ResponseType.AUTHORIZER_FAILURE },
    { id: 'AuthorizerConfigurationError', type: apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR },
  ].map(({ id, type }) => ({
    id,
    type,
    statusCode: '503',
    headers: { 'Retry-After': `'${AUTHORIZER_RETRY_AFTER_SECONDS}'` },
    template: JSON.stringify({ error: 'temporarily_unavailable', error_description: 'The token could not be checked; retry later' }),
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
  // Resolved at synth, once every attachment to this API has said what it requires.
  const denials = denialsOf(restApi);
  const accessDenied: BearerGatewayResponse = {
    id: 'AccessDenied',
    type: apigw.ResponseType.ACCESS_DENIED,
    statusCode: '403',
    headers: { 'WWW-Authenticate': Lazy.string({ produce: () => `'${accessDeniedAnswer(denials).header}'` }) },
    template: Lazy.string({ produce: () => JSON.stringify(accessDeniedAnswer(denials).body) }),
  };
  for (const response of [accessDenied, ...BEARER_GATEWAY_RESPONSES]) {
    const id = `${GATEWAY_RESPONSE_ID_PREFIX}${response.id}`;
    if (restApi.node.tryFindChild(id) !== undefined || customized.has(response.type.responseType)) continue;
    new apigw.GatewayResponse(restApi, id, {
      restApi,
      type: response.type,
      statusCode: response.statusCode,
      responseHeaders: response.headers,
      templates: { 'application/json': response.template },
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

  /**
   * The deployment's `routeScopes` when this construct knows them; `undefined` for a deployment
   * referenced by ARN. Only shapes the REST gateway responses.
   */
  protected stackRouteRequirements(): ApiRouteRequirements | undefined {
    return undefined;
  }

  public restTokenAuthorizer(
    scope: Construct,
    id: string,
    options: AuthorizerAttachmentOptions = {},
  ): apigw.TokenAuthorizer {
    if (options.routes !== undefined) {
      throw new Error(
        `restTokenAuthorizer ${id}: routes need restRequestAuthorizer; API Gateway passes a TOKEN authorizer only the token and the method ARN, not the stage variables that carry an API's routes (docs/authorizer.md, "Route requirements")`,
      );
    }
    return new BearerTokenAuthorizer(scope, id, this.onRestAttach(id, options, undefined, 'TOKEN'), {
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
    const routes = apiRoutes('restRequestAuthorizer', id, options);
    return new BearerRequestAuthorizer(scope, id, this.onRestAttach(id, options, routes, 'REQUEST'), {
      handler: this.functionFor(scope),
      // The route table's stage variables key the authorizer cache too: a cached answer never
      // outlives a change of the table.
      identitySources: [
        apigw.IdentitySource.header(AUTHORIZATION_HEADER),
        ...Object.keys(routes?.variables ?? {}).map((name) => apigw.IdentitySource.stageVariable(name)),
      ],
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
    const routes = apiRoutes('httpLambdaAuthorizer', id, options);
    const onAttach: OnAttach = (api, apiId) => {
      this.permitApi(api, apiId);
      if (routes === undefined) return;
      recordApiRoutes(api, apiId, id, routes);
    };
    return new PayloadV2HttpLambdaAuthorizer(id, this.functionFor(scope), onAttach, {
      authorizerName: options.authorizerName ?? id,
      identitySource: [
        `$request.header.${AUTHORIZATION_HEADER}`,
        ...(perRouteCache ? ['$context.routeKey'] : []),
        ...Object.keys(routes?.variables ?? {}).map((name) => `$stageVariables.${name}`),
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

  /**
   * What attaching to a REST API adds: the invoke permission (once per API), the API's own route
   * table in its deployment stage's variables, and (unless turned off) the gateway responses.
   */
  private onRestAttach(id: string, options: AuthorizerAttachmentOptions, routes: ApiRoutes | undefined, type: 'TOKEN' | 'REQUEST'): OnRestAttach {
    const withGatewayResponses = options.gatewayResponses ?? true;
    return (restApi) => {
      this.permitApi(restApi, restApi.restApiId);
      const denials = denialsOf(restApi);
      if (!this.recordedStackTable.has(restApi)) {
        this.recordedStackTable.add(restApi);
        const stack = this.stackRouteRequirements();
        if (stack === undefined) denials.stackTableUnknown = true;
        else denials.requirements.push(...parseRouteRequirements(stack).map((rule) => rule.requirement));
      }
      if (type === 'TOKEN') denials.tokenAuthorizer = true;
      if (routes !== undefined) {
        recordApiRoutes(restApi, restApi.restApiId, id, routes);
      }
      if (denials.tokenAuthorizer && denials.routesText !== undefined) {
        throw new Error(
          `${id}: this REST API has its own routes and a TOKEN authorizer; a TOKEN authorizer cannot see them (no stage variables in its events), so the methods it protects would skip them. Use restRequestAuthorizer for every method of the API`,
        );
      }
      if (withGatewayResponses) addBearerGatewayResponses(restApi);
    };
  }

  /** The APIs whose denials already include the deployment's table. */
  private readonly recordedStackTable = new WeakSet<IConstruct>();

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

/** An API's own route table: its requirements, and the stage variables that carry it. */
interface ApiRoutes {
  readonly text: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly requirements: readonly RouteRequirement[];
}

/** Validates `options.routes` with the authorizer's own parser; the error names the attachment. */
function apiRoutes(method: string, id: string, options: AuthorizerAttachmentOptions): ApiRoutes | undefined {
  if (options.routes === undefined) return undefined;
  try {
    const variables = encodeRouteRequirements(options.routes);
    const requirements = parseRouteRequirements(options.routes, 'routes').map((rule) => rule.requirement);
    return { text: Object.values(variables).join(''), variables, requirements };
  } catch (error) {
    throw new Error(`${method} ${id}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * One table per API: stage variables belong to the API's stage, so two authorizers of one API
 * cannot require different things there.
 */
function recordApiRoutes(api: IConstruct, apiId: string, id: string, routes: ApiRoutes): void {
  const denials = denialsOf(api);
  if (denials.routesText === routes.text) return;
  if (denials.routesText !== undefined) {
    throw new Error(`${id}: another authorizer of this API was given different routes; one API stage carries one route table, give every authorizer of the API the same routes`);
  }
  denials.routesText = routes.text;
  denials.requirements.push(...routes.requirements);
  Aspects.of(Stack.of(api)).add(new RouteTableStageVariables(apiId, routes.variables));
}

/**
 * Puts an API's route table into the variables of every stage of that API in the API's stack
 * (a REST API's `deploymentStage` and any `Stage` made from its deployments; an HTTP API's default
 * and added stages), visited at synth so that stages created after the attachment get them too.
 * Stages in other stacks take them from `routeRequirementStageVariables`.
 */
class RouteTableStageVariables implements IAspect {
  constructor(
    private readonly apiId: string,
    private readonly variables: Readonly<Record<string, string>>,
  ) {}

  public visit(node: IConstruct): void {
    const property =
      node instanceof apigw.CfnStage && this.sameApi(node, node.restApiId)
        ? 'Variables'
        : node instanceof apigwv2.CfnStage && this.sameApi(node, node.apiId)
          ? 'StageVariables'
          : undefined;
    if (property === undefined || !(node instanceof CfnResource)) return;
    for (const [name, value] of Object.entries(this.variables)) node.addPropertyOverride(`${property}.${name}`, value);
  }

  private sameApi(node: IConstruct, apiId: string): boolean {
    const stack = Stack.of(node);
    return JSON.stringify(stack.resolve(apiId)) === JSON.stringify(stack.resolve(this.apiId));
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
