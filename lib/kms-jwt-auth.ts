import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { parseCookieConfig } from '../lambdas/config/cookie.ts';
import { AuthAlarms } from './auth-alarms.ts';
import { AuthFunction } from './auth-function.ts';
import {
  AuthorizerAttachment,
  validateAuthorizerCacheTtl,
  type AuthorizerResponse,
  type IKmsJwtAuthorizerSource,
} from './authorizer-attachment.ts';
import { FUNCTION_ACCESS, FUNCTION_NAMES, KEY_ACTIONS, type FunctionName } from './function-access.ts';
import { ImportedKmsJwtAuth, type KmsJwtAuthAttributes } from './imported-kms-jwt-auth.ts';
import { SigningKeys, type SigningAlgorithm } from './signing-keys.ts';

export type { SigningAlgorithm } from './signing-keys.ts';
export type { AuthorizerResponse } from './authorizer-attachment.ts';

/** What refresh-token reuse revokes: the family (session) it belongs to, or every session of the user. */
export type ReusePolicy = 'family' | 'user';

/** Log level of the handlers (Powertools `LOG_LEVEL`). */
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** A custom domain for the token API. */
export interface CustomDomainOptions {
  /** Fully qualified domain name, e.g. `auth.example.com`. */
  readonly domainName: string;
  /** A regional ACM certificate for `domainName`, in the stack's region. */
  readonly certificate: acm.ICertificate;
  /**
   * When given, A and AAAA alias records for `domainName` are created in this zone.
   * @default no DNS records; point `domainName` at the `regionalDomainName` yourself
   */
  readonly hostedZone?: route53.IHostedZone;
}

/** Throttling of an API Gateway stage or route (steady-state requests/s and burst). */
export interface ThrottleOptions {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface KmsJwtAuthProps {
  /**
   * The `iss` of every token and the base of the discovery document. It must not change while
   * tokens are in use, so prefer a custom domain over the generated API endpoint, which changes
   * whenever the API is recreated.
   * @default `https://<customDomain.domainName>` when a custom domain is set, else the API endpoint
   */
  readonly issuer?: string;
  /**
   * The `aud` of access tokens: the resource servers (APIs) they are for (RFC 9068 §3).
   * @default 'kms-jwt-auth'
   */
  readonly audience?: string;
  /**
   * The `client_id` claim (RFC 9068 §2.2).
   * @default 'kms-jwt-auth'
   */
  readonly clientId?: string;
  /**
   * Access token lifetime, 5 to 60 minutes. It is also how long a retired signing key must keep
   * verifying after a rotation, and how long a token can outlive a revocation at an API that
   * does not use this authorizer.
   * @default Duration.minutes(15)
   */
  readonly accessTokenTtl?: Duration;
  /**
   * Refresh token lifetime, sliding: each refresh returns a token valid this long again.
   * @default Duration.days(7)
   */
  readonly refreshTokenTtl?: Duration;
  /**
   * Absolute lifetime of a refresh-token family (session) since login, however often it is refreshed.
   * @default Duration.days(30)
   */
  readonly refreshAbsoluteTtl?: Duration;
  /**
   * JWS algorithm: RS256 (KMS `RSA_2048`, RSASSA_PKCS1_V1_5_SHA_256: the cheaper KMS signing
   * request and the cheaper verification) or ES256 (KMS `ECC_NIST_P256`: smaller tokens). Changing
   * it on a deployed stack replaces the keys; rotate to a new key generation instead.
   * @default 'RS256'
   */
  readonly signingAlgorithm?: SigningAlgorithm;
  /**
   * Refresh-token reuse revokes the token's family only (`family`) or every session of the user (`user`).
   * @default 'family'
   */
  readonly reusePolicy?: ReusePolicy;
  /**
   * Return the refresh token in an `HttpOnly; Secure; SameSite=Strict` cookie scoped to
   * `refreshCookiePath` instead of the response body (for browser apps).
   * @default false
   */
  readonly cookieMode?: boolean;
  /**
   * Browser origins allowed by CORS on the token API, e.g. `['https://app.example.com']`.
   * Empty: no CORS headers (native apps and server-side callers need none). With `cookieMode`,
   * credentials are allowed, so `*` is refused.
   * @default []
   */
  readonly corsOrigins?: readonly string[];
  /**
   * Path the refresh cookie is scoped to.
   * @default '/refresh'
   */
  readonly refreshCookiePath?: string;
  /**
   * How long API Gateway caches an authorizer decision, per `Authorization` header value, for
   * the authorizers created by this construct. Any value above 0 means a revoked token keeps
   * working at that API until its cached decision expires (revocation latency = this TTL), and
   * with REST APIs the cached policy is reused for every method of the API. 0 keeps revocation
   * instant at the price of one authorizer invocation (and one DynamoDB read) per request.
   * @default Duration.seconds(0)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * How the authorizer answers HTTP API events (REST events always get an IAM policy).
   * @default 'simple'
   */
  readonly authorizerResponse?: AuthorizerResponse;
  /**
   * How long one authorizer instance may reuse a denylist lookup, at most 5 minutes. Like
   * `authorizerCacheTtl`, it delays revocation by up to this long.
   * @default Duration.seconds(0)
   */
  readonly denylistCacheTtl?: Duration;
  /**
   * Leeway for the `nbf` and `iat` checks (RFC 7519 §4.1.5-4.1.6): how far the issuer's clock may
   * run ahead. `exp` gets none (a just-expired token costs a refresh; docs/authorizer.md).
   * @default Duration.seconds(60)
   */
  readonly clockSkew?: Duration;
  /**
   * Scopes the authorizer requires per route: `"METHOD /path"` (API Gateway route or resource
   * path, `ANY` for every method) to the scopes a token must all hold; missing ones answer 403.
   * Users' own scopes are set per user with the admin CLI.
   * @default {} (any valid token is enough)
   */
  readonly routeScopes?: Readonly<Record<string, readonly string[]>>;
  /**
   * What happens to the table, the KMS keys and the log groups when they leave the stack.
   * `RETAIN` keeps users, sessions and keys through a mistaken `cdk destroy`. `DESTROY` deletes
   * the table and the log groups, and schedules the keys for deletion after KMS's waiting period
   * (30 days, during which `aws kms cancel-key-deletion` restores a key).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * DynamoDB deletion protection on the table. CloudFormation cannot delete a protected table,
   * so `true` with `removalPolicy: DESTROY` is refused at synth (`cdk destroy` would end in
   * DELETE_FAILED).
   * @default true, except with `removalPolicy: DESTROY`: false
   */
  readonly deletionProtection?: boolean;
  /**
   * Retention of the function and access log groups.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Log level of the handlers.
   * @default 'INFO'
   */
  readonly logLevel?: LogLevel;
  /**
   * A custom domain for the token API. The issuer is derived from it, so it survives the API
   * being recreated.
   * @default none: the generated `execute-api` endpoint
   */
  readonly customDomain?: CustomDomainOptions;
  /**
   * KMS key generations, the signing one first, then those still verifying during a rotation.
   * One asymmetric key is created per name; all are published in the JWKS and trusted by the
   * authorizer. See docs/deploy.md for the rotation procedure.
   * @default ['v1']
   */
  readonly keyGenerations?: readonly string[];
  /**
   * Further keys that verify but never sign (e.g. keys of a previous deployment). Same key spec
   * as `signingAlgorithm`; their key policies must allow `kms:GetPublicKey` to this account.
   * @default []
   */
  readonly additionalVerificationKeys?: readonly kms.IKey[];
  /**
   * Alias prefix of the keys (without `alias/`): `alias/<prefix>/<generation>` and `alias/<prefix>/signing`.
   * @default 'kms-jwt-auth/<stack name>'
   */
  readonly keyAliasPrefix?: string;
  /**
   * Stage throttling of the token API.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttle?: ThrottleOptions;
  /**
   * Throttling of `POST /login` alone, on top of the per-user failed-login limit in the code.
   * @default { rateLimit: 20, burstLimit: 40 }
   */
  readonly loginThrottle?: ThrottleOptions;
  /**
   * Where the alarms notify.
   * @default no action (alarms are visible in CloudWatch only)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Failed logins in 5 minutes that raise the login-failure alarm.
   * @default 50
   */
  readonly loginFailureAlarmThreshold?: number;
  /**
   * API 4xx responses in 5 minutes that raise the 4xx alarm.
   * @default 500
   */
  readonly api4xxAlarmThreshold?: number;
  /**
   * X-Ray active tracing on the functions (adds a Resource:* X-Ray statement to each role).
   * @default false
   */
  readonly tracing?: boolean;
}

/** Where the handlers live: `lambdas/<name>/handler.ts` next to `lib/`. */
const PROJECT_ROOT = fileURLToPath(new URL('../', import.meta.url));
const handlerEntry = (name: FunctionName): string =>
  fileURLToPath(new URL(`../lambdas/${name}/handler.ts`, import.meta.url));

const FUNCTION_SETTINGS: Record<
  FunctionName,
  { description: string; memorySize: number; timeout: Duration; sourceMaps?: boolean; requireShim?: boolean }
> = {
  // Password hashing is CPU-bound; CPU scales with memory.
  login: { description: 'POST /login: verifies the password, starts a refresh-token family', memorySize: 1024, timeout: Duration.seconds(10) },
  refresh: { description: 'POST /refresh: rotates the refresh token, detects reuse', memorySize: 512, timeout: Duration.seconds(5) },
  revoke: { description: 'POST /revoke, /refresh/revoke and /logout-all: revokes tokens and sessions', memorySize: 512, timeout: Duration.seconds(10) },
  jwks: { description: 'GET /.well-known/jwks.json and openid-configuration', memorySize: 256, timeout: Duration.seconds(5) },
  // API Gateway waits at most 10 s for an authorizer.
  // Its cold start delays requests to every protected API: no source-map loading at startup and
  // no `require` shim (its bundle has no CommonJS; npm run bench measures this bundle).
  authorizer: {
    description: 'API Gateway Lambda authorizer: verifies access tokens',
    memorySize: 512,
    timeout: Duration.seconds(5),
    sourceMaps: false,
    requireShim: false,
  },
};

/**
 * Serverless authentication: KMS-signed JWT access tokens, rotating refresh tokens with reuse
 * detection, instant revocation, and an API Gateway Lambda authorizer that other APIs attach
 * with `restTokenAuthorizer`, `restRequestAuthorizer` or `httpLambdaAuthorizer`.
 */
export class KmsJwtAuth extends AuthorizerAttachment {
  /**
   * Reference a deployment made elsewhere (another app, or without CDK) by its authorizer
   * function ARN, to attach the authorizer to APIs in this app.
   */
  public static fromAttributes(scope: Construct, id: string, attrs: KmsJwtAuthAttributes): IKmsJwtAuthorizerSource {
    return new ImportedKmsJwtAuth(scope, id, attrs);
  }

  public readonly authorizerFunction: lambda.IFunction;
  public readonly authorizerResponse: AuthorizerResponse;
  protected readonly defaultAuthorizerCacheTtl: Duration;

  /** The token API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** Its `$default` stage. */
  public readonly stage: apigwv2.HttpStage;
  /** The single table: users, refresh-token families, denylist, rate-limit counters. */
  public readonly table: dynamodb.Table;
  /** The KMS keys. */
  public readonly keys: SigningKeys;
  /** The five functions, by name. */
  public readonly functions: Readonly<Record<FunctionName, AuthFunction>>;
  /** The alarms. */
  public readonly alarms: AuthAlarms;
  /** The issuer (`iss`). */
  public readonly issuer: string;
  /** The audience (`aud`). */
  public readonly audience: string;
  /** `<issuer>/.well-known/jwks.json`. */
  public readonly jwksUrl: string;
  /** The custom domain, when configured. */
  public readonly domainName?: apigwv2.DomainName;

  constructor(scope: Construct, id: string, props: KmsJwtAuthProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    const stackName = Stack.of(this).stackName;
    this.authorizerResponse = settings.authorizerResponse;
    this.defaultAuthorizerCacheTtl = settings.authorizerCacheTtl;

    // --- Keys -----------------------------------------------------------------------------
    this.keys = new SigningKeys(this, 'Keys', {
      algorithm: settings.signingAlgorithm,
      generations: settings.keyGenerations,
      additionalVerificationKeys: props.additionalVerificationKeys ?? [],
      removalPolicy: settings.removalPolicy,
      aliasPrefix: props.keyAliasPrefix ?? `kms-jwt-auth/${stackName}`,
    });

    // --- Table ----------------------------------------------------------------------------
    // Encryption: the AWS managed key (aws/dynamodb). Items hold only hashes (passwords,
    // refresh tokens) and identifiers, never a secret in clear; the managed key is logged in
    // CloudTrail, costs nothing and has no key policy to get wrong. A customer managed key
    // would add control over who may decrypt, which the IAM grants below already restrict.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'ttl',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: settings.deletionProtection,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: settings.removalPolicy,
    });

    // --- API and issuer -------------------------------------------------------------------
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
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

    if (props.customDomain !== undefined) {
      this.domainName = new apigwv2.DomainName(this, 'DomainName', {
        domainName: props.customDomain.domainName,
        certificate: props.customDomain.certificate,
      });
      if (props.customDomain.hostedZone !== undefined) {
        const target = route53.RecordTarget.fromAlias(
          new targets.ApiGatewayv2DomainProperties(
            this.domainName.regionalDomainName,
            this.domainName.regionalHostedZoneId,
          ),
        );
        new route53.ARecord(this, 'AliasRecord', {
          zone: props.customDomain.hostedZone,
          recordName: props.customDomain.domainName,
          target,
        });
        new route53.AaaaRecord(this, 'AliasRecordIpv6', {
          zone: props.customDomain.hostedZone,
          recordName: props.customDomain.domainName,
          target,
        });
      }
    }

    this.issuer =
      props.issuer ??
      (props.customDomain !== undefined ? `https://${props.customDomain.domainName}` : this.httpApi.apiEndpoint);
    validateIssuer(this.issuer);
    this.audience = settings.audience;
    this.jwksUrl = `${this.issuer}/.well-known/jwks.json`;

    // --- Functions ------------------------------------------------------------------------
    const verifyKeyIds = this.keys.verificationKeys.map((key) => key.keyArn).join(',');
    const common = {
      TABLE_NAME: this.table.tableName,
      ISSUER: this.issuer,
      AUDIENCE: settings.audience,
      SIGNING_ALG: settings.signingAlgorithm,
      CLOCK_SKEW_SECONDS: String(settings.clockSkew.toSeconds()),
      POWERTOOLS_SERVICE_NAME: 'kms-jwt-auth',
      LOG_LEVEL: settings.logLevel,
    };
    const issuing = {
      ...common,
      SIGNING_KEY_ID: this.keys.signingKey.keyArn,
      CLIENT_ID: settings.clientId,
      ACCESS_TOKEN_TTL_SECONDS: String(settings.accessTokenTtl.toSeconds()),
      REFRESH_TOKEN_TTL_SECONDS: String(settings.refreshTokenTtl.toSeconds()),
      REFRESH_ABSOLUTE_TTL_SECONDS: String(settings.refreshAbsoluteTtl.toSeconds()),
      REUSE_POLICY: settings.reusePolicy,
      COOKIE_MODE: settings.cookieMode ? 'on' : 'off',
      CORS_ORIGINS: settings.corsOrigins.join(','),
      REFRESH_COOKIE_PATH: settings.refreshCookiePath,
    };
    const environments: Record<FunctionName, Record<string, string>> = {
      login: issuing,
      refresh: issuing,
      revoke: { ...issuing, VERIFY_KEY_IDS: verifyKeyIds },
      jwks: { ...common, VERIFY_KEY_IDS: verifyKeyIds },
      authorizer: {
        ...common,
        VERIFY_KEY_IDS: verifyKeyIds,
        ROUTE_SCOPES: JSON.stringify(settings.routeScopes),
        AUTHORIZER_RESPONSE: settings.authorizerResponse,
        DENYLIST_CACHE_SECONDS: String(settings.denylistCacheTtl.toSeconds()),
      },
    };

    const functions = {} as Record<FunctionName, AuthFunction>;
    for (const name of FUNCTION_NAMES) {
      const fn = new AuthFunction(this, functionId(name), {
        entry: handlerEntry(name),
        depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
        ...FUNCTION_SETTINGS[name],
        environment: environments[name],
        logRetention: settings.logRetention,
        removalPolicy: settings.removalPolicy,
        tracing: props.tracing ?? false,
      });
      this.grantAccess(name, fn);
      functions[name] = fn;
    }
    this.functions = functions;
    this.keys.allowSigning(
      FUNCTION_NAMES.filter((name) => FUNCTION_ACCESS[name].keyAccess === 'sign').map((name) => functions[name].role),
    );
    this.authorizerFunction = functions.authorizer.function;

    // --- Routes ---------------------------------------------------------------------------
    const integration = (name: FunctionName): HttpLambdaIntegration =>
      new HttpLambdaIntegration(`${functionId(name)}Integration`, functions[name].function);
    const revokeIntegration = integration('revoke');
    const jwksIntegration = integration('jwks');
    const publicRoutes = [
      ...this.httpApi.addRoutes({ path: '/login', methods: [apigwv2.HttpMethod.POST], integration: integration('login') }),
      ...this.httpApi.addRoutes({ path: '/refresh', methods: [apigwv2.HttpMethod.POST], integration: integration('refresh') }),
      ...this.httpApi.addRoutes({ path: '/revoke', methods: [apigwv2.HttpMethod.POST], integration: revokeIntegration }),
      // Cookie mode's logout: under the refresh cookie's path, the one path the browser sends it to.
      ...this.httpApi.addRoutes({ path: '/refresh/revoke', methods: [apigwv2.HttpMethod.POST], integration: revokeIntegration }),
      ...this.httpApi.addRoutes({ path: '/.well-known/jwks.json', methods: [apigwv2.HttpMethod.GET], integration: jwksIntegration }),
      ...this.httpApi.addRoutes({
        path: '/.well-known/openid-configuration',
        methods: [apigwv2.HttpMethod.GET],
        integration: jwksIntegration,
      }),
    ];
    // Logging out everywhere needs a valid access token: our own authorizer guards it.
    this.httpApi.addRoutes({
      path: '/logout-all',
      methods: [apigwv2.HttpMethod.POST],
      integration: revokeIntegration,
      authorizer: this.httpLambdaAuthorizer(this, 'LogoutAllAuthorizer'),
    });
    for (const route of publicRoutes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Token endpoint, revocation endpoint or key publication: the client authenticates with its credentials or refresh token (in the body, RFC 6749 §5, RFC 7009 §2.1, or in cookie mode the refresh cookie), and JWKS/discovery are public by definition (RFC 8414 §3). POST /logout-all is the one route behind the authorizer.',
      });
    }

    // --- Stage: throttling, access logs, custom domain -----------------------------------
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
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
      ...(this.domainName !== undefined ? { domainMapping: { domainName: this.domainName } } : {}),
    });
    const cfnStage = this.stage.node.defaultChild;
    if (cfnStage instanceof apigwv2.CfnStage) {
      // `RouteSettings` is an untyped JSON map in CloudFormation: CDK passes it through as is,
      // so the keys must already be CloudFormation's (PascalCase).
      cfnStage.routeSettings = {
        'POST /login': {
          ThrottlingRateLimit: settings.loginThrottle.rateLimit,
          ThrottlingBurstLimit: settings.loginThrottle.burstLimit,
        },
      };
    }
    // Route settings name a route key that must exist before the stage is updated.
    for (const route of publicRoutes) this.stage.node.addDependency(route);

    // --- Alarms ---------------------------------------------------------------------------
    this.alarms = new AuthAlarms(this, 'Alarms', {
      metricNamespace: `KmsJwtAuth/${stackName}`,
      reuseLogGroups: [functions.refresh.logGroup, functions.revoke.logGroup],
      loginLogGroup: functions.login.logGroup,
      authorizerFunction: functions.authorizer.function,
      authorizerLogGroup: functions.authorizer.logGroup,
      functions: Object.fromEntries(FUNCTION_NAMES.map((name) => [name, functions[name].function])),
      httpApi: this.httpApi,
      loginFailureThreshold: props.loginFailureAlarmThreshold ?? 50,
      api4xxThreshold: props.api4xxAlarmThreshold ?? 500,
      ...(props.alarmTopic !== undefined ? { alarmTopic: props.alarmTopic } : {}),
    });
  }

  /**
   * Grants one function exactly what `FUNCTION_ACCESS` lists: its DynamoDB actions on this table
   * (no index, no other table), and `kms:Sign` on the signing key or `kms:GetPublicKey` on the
   * verification keys.
   */
  private grantAccess(name: FunctionName, fn: AuthFunction): void {
    const access = FUNCTION_ACCESS[name];
    if (access.tableActions.length > 0) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'AuthTable',
          actions: [...access.tableActions],
          resources: [this.table.tableArn],
        }),
      );
    }
    const keyActions = KEY_ACTIONS[access.keyAccess];
    if (keyActions.length > 0) {
      const keys = access.keyAccess === 'sign' ? [this.keys.signingKey] : this.keys.verificationKeys;
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: access.keyAccess === 'sign' ? 'SignAccessTokens' : 'ReadPublicKeys',
          actions: [...keyActions],
          resources: keys.map((key) => key.keyArn),
        }),
      );
    }
  }
}

function functionId(name: FunctionName): string {
  return `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

interface Settings {
  readonly audience: string;
  readonly clientId: string;
  readonly accessTokenTtl: Duration;
  readonly refreshTokenTtl: Duration;
  readonly refreshAbsoluteTtl: Duration;
  readonly signingAlgorithm: SigningAlgorithm;
  readonly reusePolicy: ReusePolicy;
  readonly cookieMode: boolean;
  readonly corsOrigins: readonly string[];
  readonly refreshCookiePath: string;
  readonly authorizerCacheTtl: Duration;
  readonly authorizerResponse: AuthorizerResponse;
  readonly denylistCacheTtl: Duration;
  readonly clockSkew: Duration;
  readonly routeScopes: Readonly<Record<string, readonly string[]>>;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly keyGenerations: readonly string[];
  readonly throttle: ThrottleOptions;
  readonly loginThrottle: ThrottleOptions;
}

/** Applies the defaults and refuses settings the handlers would reject at cold start. */
function resolveSettings(props: KmsJwtAuthProps): Settings {
  const settings: Settings = {
    audience: props.audience ?? 'kms-jwt-auth',
    clientId: props.clientId ?? 'kms-jwt-auth',
    accessTokenTtl: props.accessTokenTtl ?? Duration.minutes(15),
    refreshTokenTtl: props.refreshTokenTtl ?? Duration.days(7),
    refreshAbsoluteTtl: props.refreshAbsoluteTtl ?? Duration.days(30),
    signingAlgorithm: props.signingAlgorithm ?? 'RS256',
    reusePolicy: props.reusePolicy ?? 'family',
    cookieMode: props.cookieMode ?? false,
    corsOrigins: props.corsOrigins ?? [],
    refreshCookiePath: props.refreshCookiePath ?? '/refresh',
    authorizerCacheTtl: props.authorizerCacheTtl ?? Duration.seconds(0),
    authorizerResponse: props.authorizerResponse ?? 'simple',
    denylistCacheTtl: props.denylistCacheTtl ?? Duration.seconds(0),
    clockSkew: props.clockSkew ?? Duration.seconds(60),
    routeScopes: props.routeScopes ?? {},
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    deletionProtection: props.deletionProtection ?? props.removalPolicy !== RemovalPolicy.DESTROY,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
    logLevel: props.logLevel ?? 'INFO',
    keyGenerations: props.keyGenerations ?? ['v1'],
    throttle: props.throttle ?? { rateLimit: 100, burstLimit: 200 },
    loginThrottle: props.loginThrottle ?? { rateLimit: 20, burstLimit: 40 },
  };

  const seconds = (name: string, value: Duration, min: number, max: number): void => {
    if (value.isUnresolved()) throw new Error(`KmsJwtAuth: ${name} must be a concrete duration`);
    const s = value.toSeconds();
    if (!Number.isInteger(s) || s < min || s > max) {
      throw new Error(`KmsJwtAuth: ${name} must be between ${min} and ${max} seconds, got ${s}`);
    }
  };
  // Ranges match what lambdas/core/config.ts accepts, so a bad value fails at synth, not at cold start.
  seconds('accessTokenTtl', settings.accessTokenTtl, 5 * 60, 60 * 60);
  seconds('refreshTokenTtl', settings.refreshTokenTtl, 300, 90 * 86_400);
  seconds('refreshAbsoluteTtl', settings.refreshAbsoluteTtl, 300, 365 * 86_400);
  seconds('clockSkew', settings.clockSkew, 0, 300);
  seconds('denylistCacheTtl', settings.denylistCacheTtl, 0, 300);
  if (settings.refreshAbsoluteTtl.toSeconds() < settings.refreshTokenTtl.toSeconds()) {
    throw new Error('KmsJwtAuth: refreshAbsoluteTtl must not be shorter than refreshTokenTtl');
  }
  if (settings.refreshTokenTtl.toSeconds() < settings.accessTokenTtl.toSeconds()) {
    throw new Error('KmsJwtAuth: refreshTokenTtl must not be shorter than accessTokenTtl');
  }
  validateAuthorizerCacheTtl(settings.authorizerCacheTtl);
  // A protected table cannot be deleted by CloudFormation, so DESTROY would leave the stack in
  // DELETE_FAILED with the table still there.
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithTables.Basics.html#WorkingWithTables.Basics.DeletionProtection
  if (settings.removalPolicy === RemovalPolicy.DESTROY && settings.deletionProtection) {
    throw new Error(
      'KmsJwtAuth: removalPolicy DESTROY with deletionProtection true cannot be deleted by `cdk destroy` (CloudFormation may not delete a protected table); set deletionProtection to false, or leave it unset to follow removalPolicy',
    );
  }

  if (settings.audience.trim() === '' || settings.clientId.trim() === '') {
    throw new Error('KmsJwtAuth: audience and clientId must not be empty');
  }
  // The very parser the handlers run at cold start, so that synth refuses what they would.
  try {
    parseCookieConfig({
      COOKIE_MODE: settings.cookieMode ? 'on' : 'off',
      CORS_ORIGINS: settings.corsOrigins.join(','),
      REFRESH_COOKIE_PATH: settings.refreshCookiePath,
    });
  } catch (error) {
    throw new Error(`KmsJwtAuth: cookieMode / CORS origin / refreshCookiePath settings: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const [route, scopes] of Object.entries(settings.routeScopes)) {
    if (!/^(ANY|GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \/\S*$/.test(route)) {
      throw new Error(`KmsJwtAuth: routeScopes key "${route}" must be "METHOD /path"`);
    }
    // RFC 6749 §3.3 scope-token.
    if (scopes.length === 0 || !scopes.every((scope) => /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/.test(scope))) {
      throw new Error(`KmsJwtAuth: routeScopes["${route}"] must be a non-empty list of RFC 6749 scope tokens`);
    }
  }
  for (const [name, throttle] of [['throttle', settings.throttle], ['loginThrottle', settings.loginThrottle]] as const) {
    if (!(throttle.rateLimit > 0) || !(throttle.burstLimit > 0) || !Number.isInteger(throttle.burstLimit)) {
      throw new Error(`KmsJwtAuth: ${name} needs a positive rateLimit and a positive integer burstLimit`);
    }
  }
  for (const name of FUNCTION_NAMES) {
    const entry = handlerEntry(name);
    if (!existsSync(entry)) throw new Error(`KmsJwtAuth: handler entry ${entry} does not exist`);
  }
  return settings;
}

/** RFC 8414 §2: an https URL with no query or fragment; no trailing slash so `iss` compares exactly. */
function validateIssuer(issuer: string): void {
  if (Token.isUnresolved(issuer)) return;
  if (!/^https:\/\/[^\s?#]+$/.test(issuer) || issuer.endsWith('/')) {
    throw new Error(`KmsJwtAuth: issuer must be an https URL without query, fragment or trailing slash, got "${issuer}"`);
  }
}
