/**
 * The construct's props, their defaults, and their validation. What a handler would refuse at cold
 * start is refused here by the handler's own parser (lambdas/config/), run on the very environment
 * the function is deployed with, so its message is the handler's.
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as route53 from 'aws-cdk-lib/aws-route53';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { parseAccountFunctionConfig } from '../lambdas/config/account.ts';
import { parseAuthorizerConfig } from '../lambdas/config/authorizer.ts';
import type { EnvRecord } from '../lambdas/config/env.ts';
import { parseIssuingFunctionConfig, parseLoginFunctionConfig, parseRevokeFunctionConfig } from '../lambdas/config/issuer.ts';
import { parseJwksFunctionConfig } from '../lambdas/config/jwks.ts';
import type { RouteRequirementInput } from '../lambdas/core/route-requirements.ts';
import {
  validateAuthorizerCacheTtl,
  validateAuthorizerInvokePermission,
  type AuthorizerInvokePermission,
  type AuthorizerResponse,
} from './authorizer-attachment.ts';
import type { FunctionName } from './function-access.ts';
import type { SigningAlgorithm } from './signing-keys.ts';

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
/**
 * The WebAuthn relying party for passkeys (docs/deploy.md, "Passkeys"). Web apps on
 * `https://app.example.com` with the API on `https://auth.example.com` use
 * `{ rpId: 'example.com', origins: ['https://app.example.com'] }`.
 */
export interface PasskeyOptions {
  /** A domain: every origin's host or a registrable suffix of it (WebAuthn §5.1.3). */
  readonly rpId: string;
  /** The name authenticators show. @default the RP ID */
  readonly rpName?: string;
  /** Origins whose pages use the passkeys (`https://host[:port]`). @default the issuer's origin */
  readonly origins?: readonly string[];
}

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
   * How long a superseded refresh token still gets the very same successor (and a new access token
   * of the same session) instead of counting as reuse: apps that refresh from two threads at once,
   * or retry after a lost response, stay signed in. Whole seconds, 0 (no grace) to 60.
   * @default Duration.seconds(30)
   */
  readonly refreshGracePeriod?: Duration;
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
   * Which APIs may invoke the authorizer: `api` adds one `lambda:InvokeFunction` permission per
   * attached API (its resource-based policy, capped at 20 KB by Lambda, holds about 200);
   * `account` adds a single permission for every API Gateway API in this account and region, so
   * there is no limit, but any API in the account can then call the authorizer; `role` gives each
   * attaching stack an IAM role its authorizers use as credentials, so the policy stays empty and
   * only those APIs can call it (docs/deploy.md, "How many APIs can attach").
   * @default 'api'
   */
  readonly authorizerInvokePermission?: AuthorizerInvokePermission;
  /**
   * Concurrent executions reserved for the authorizer, so that a burst of logins (CPU-heavy,
   * from the same account pool) or any other function cannot throttle it: a throttled authorizer
   * fails every request to every attached API. A reservation is also the function's ceiling,
   * so size it above the authorizer's peak (requests per second × seconds per invocation, with
   * headroom), and Lambda refuses one that would leave the account less than 100 unreserved
   * (docs/deploy.md, "Authorizer concurrency").
   * https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
   * @default none: the authorizer shares the account's unreserved pool
   */
  readonly authorizerReservedConcurrency?: number;
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
   * What the authorizer requires per route, on every API it protects: `"METHOD /path"` (API
   * Gateway route or resource path, `ANY` for every method) to the scopes a token must all hold
   * (missing ones answer 403 `insufficient_scope`), or to `{ scopes?, mfa?, maxAuthAgeSeconds? }`
   * (a token without `"mfa"` in `amr`, or authenticated longer ago, answers 403
   * `insufficient_user_authentication`). Each API can add its own with the `routes` option of the
   * attachment. Users' own scopes are set per user with the admin CLI.
   * @default {} (any valid token is enough)
   */
  readonly routeScopes?: Readonly<Record<string, RouteRequirementInput>>;
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
   * KMS key generations created at deployment, the signing one first, then verify-only ones.
   * One asymmetric key is created per name; all are published in the JWKS and trusted by the
   * authorizer until the first run-time rotation (`rotate-key`, no deployment needed), after which
   * the key registry in the table decides. See docs/deploy.md for the rotation procedure.
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
  /**
   * The WebAuthn relying party for passkey registration and sign-in.
   * @default RP ID = the issuer's host, origin = the issuer's origin
   */
  readonly passkeys?: PasskeyOptions;
}

export interface Settings {
  readonly audience: string;
  readonly clientId: string;
  readonly accessTokenTtl: Duration;
  readonly refreshTokenTtl: Duration;
  readonly refreshAbsoluteTtl: Duration;
  readonly signingAlgorithm: SigningAlgorithm;
  readonly reusePolicy: ReusePolicy;
  readonly refreshGracePeriod: Duration;
  readonly cookieMode: boolean;
  readonly corsOrigins: readonly string[];
  readonly refreshCookiePath: string;
  readonly authorizerCacheTtl: Duration;
  readonly authorizerResponse: AuthorizerResponse;
  readonly authorizerInvokePermission: AuthorizerInvokePermission;
  readonly authorizerReservedConcurrency: number | undefined;
  readonly denylistCacheTtl: Duration;
  readonly clockSkew: Duration;
  readonly routeScopes: Readonly<Record<string, RouteRequirementInput>>;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly logRetention: logs.RetentionDays;
  readonly logLevel: LogLevel;
  readonly keyGenerations: readonly string[];
  readonly throttle: ThrottleOptions;
  readonly loginThrottle: ThrottleOptions;
  readonly passkeys: PasskeyOptions | undefined;
}

/** Applies the defaults and refuses settings the handlers would reject at cold start. */
export function resolveSettings(props: KmsJwtAuthProps): Settings {
  const settings: Settings = {
    audience: props.audience ?? 'kms-jwt-auth',
    clientId: props.clientId ?? 'kms-jwt-auth',
    accessTokenTtl: props.accessTokenTtl ?? Duration.minutes(15),
    refreshTokenTtl: props.refreshTokenTtl ?? Duration.days(7),
    refreshAbsoluteTtl: props.refreshAbsoluteTtl ?? Duration.days(30),
    signingAlgorithm: props.signingAlgorithm ?? 'RS256',
    reusePolicy: props.reusePolicy ?? 'family',
    refreshGracePeriod: props.refreshGracePeriod ?? Duration.seconds(30),
    cookieMode: props.cookieMode ?? false,
    corsOrigins: props.corsOrigins ?? [],
    refreshCookiePath: props.refreshCookiePath ?? '/refresh',
    authorizerCacheTtl: props.authorizerCacheTtl ?? Duration.seconds(0),
    authorizerResponse: props.authorizerResponse ?? 'simple',
    authorizerInvokePermission: validateAuthorizerInvokePermission(props.authorizerInvokePermission ?? 'api'),
    authorizerReservedConcurrency: props.authorizerReservedConcurrency,
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
    passkeys: props.passkeys,
  };

  // The environment holds whole seconds; the ranges are the handlers' (checkFunctionEnvironments).
  for (const [name, value] of [
    ['accessTokenTtl', settings.accessTokenTtl],
    ['refreshTokenTtl', settings.refreshTokenTtl],
    ['refreshAbsoluteTtl', settings.refreshAbsoluteTtl],
    ['clockSkew', settings.clockSkew],
    ['denylistCacheTtl', settings.denylistCacheTtl],
  ] as const) {
    if (value.isUnresolved()) throw new Error(`KmsJwtAuth: ${name} must be a concrete duration`);
  }
  validateAuthorizerCacheTtl(settings.authorizerCacheTtl);
  validateReservedConcurrency(settings.authorizerReservedConcurrency);
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
  for (const [name, throttle] of [['throttle', settings.throttle], ['loginThrottle', settings.loginThrottle]] as const) {
    if (!(throttle.rateLimit > 0) || !(throttle.burstLimit > 0) || !Number.isInteger(throttle.burstLimit)) {
      throw new Error(`KmsJwtAuth: ${name} needs a positive rateLimit and a positive integer burstLimit`);
    }
  }
  // Deploy-time values (table, keys, the generated API endpoint) are not known yet; the parsers
  // check the form of what the user chose (see `atSynth`).
  checkFunctionEnvironments(
    functionEnvironments(settings, {
      tableName: DEPLOY_TIME,
      issuer: issuerOf(props, DEPLOY_TIME_ISSUER),
      signingKeyArn: DEPLOY_TIME,
      verifyKeyArns: [DEPLOY_TIME],
      mfaKeyArn: DEPLOY_TIME,
    }),
  );
  return settings;
}

/**
 * A reservation of 0 stops the function from running at all (every protected API would answer
 * 500), and Lambda takes only whole numbers; an upper bound depends on the account's limit,
 * which only the deployment can check.
 */
function validateReservedConcurrency(reserved: number | undefined): void {
  if (reserved === undefined) return;
  if (Token.isUnresolved(reserved) || !Number.isInteger(reserved) || reserved < 1) {
    throw new Error(
      `KmsJwtAuth: authorizerReservedConcurrency must be a whole number of at least 1, got ${String(reserved)}; leave it unset to share the unreserved pool`,
    );
  }
}

const DEPLOY_TIME = 'deploy-time-value';
const DEPLOY_TIME_ISSUER = 'https://deploy-time.invalid';

/** The issuer: as given, else the custom domain's URL, else the API's generated endpoint. */
export function issuerOf(props: KmsJwtAuthProps, apiEndpoint: string): string {
  return props.issuer ?? (props.customDomain !== undefined ? `https://${props.customDomain.domainName}` : apiEndpoint);
}

/** RFC 8414 §2: an https URL with no query or fragment; no trailing slash so `iss` compares exactly. */
export function validateIssuer(issuer: string): void {
  if (Token.isUnresolved(issuer)) return;
  if (!/^https:\/\/[^\s?#]+$/.test(issuer) || issuer.endsWith('/')) {
    throw new Error(`KmsJwtAuth: issuer must be an https URL without query, fragment or trailing slash, got "${issuer}"`);
  }
}

/** The deploy-time resources that function environments name. */
export interface EnvironmentResources {
  readonly tableName: string;
  readonly issuer: string;
  readonly signingKeyArn: string;
  readonly verifyKeyArns: readonly string[];
  /** Keys managed elsewhere (`additionalVerificationKeys`): they keep verifying after rotations. */
  readonly additionalVerifyKeyArns?: readonly string[];
  /** Where the functions write their metrics (CloudWatch embedded metric format). */
  readonly metricNamespace?: string;
  /** The symmetric key that seals TOTP secrets. */
  readonly mfaKeyArn: string;
}

/** Each function's environment: exactly the variables its parser in lambdas/config/ reads. */
export function functionEnvironments(settings: Settings, resources: EnvironmentResources): Record<FunctionName, Record<string, string>> {
  const verifyKeyIds = resources.verifyKeyArns.join(',');
  const verifying = {
    VERIFY_KEY_IDS: verifyKeyIds,
    ...((resources.additionalVerifyKeyArns ?? []).length > 0 ? { ADDITIONAL_VERIFY_KEY_IDS: (resources.additionalVerifyKeyArns ?? []).join(',') } : {}),
  };
  const common = {
    TABLE_NAME: resources.tableName,
    ISSUER: resources.issuer,
    AUDIENCE: settings.audience,
    SIGNING_ALG: settings.signingAlgorithm,
    CLOCK_SKEW_SECONDS: String(settings.clockSkew.toSeconds()),
    POWERTOOLS_SERVICE_NAME: 'kms-jwt-auth',
    LOG_LEVEL: settings.logLevel,
    ...(resources.metricNamespace === undefined ? {} : { POWERTOOLS_METRICS_NAMESPACE: resources.metricNamespace }),
  };
  const issuing = {
    ...common,
    SIGNING_KEY_ID: resources.signingKeyArn,
    CLIENT_ID: settings.clientId,
    ACCESS_TOKEN_TTL_SECONDS: String(settings.accessTokenTtl.toSeconds()),
    REFRESH_TOKEN_TTL_SECONDS: String(settings.refreshTokenTtl.toSeconds()),
    REFRESH_ABSOLUTE_TTL_SECONDS: String(settings.refreshAbsoluteTtl.toSeconds()),
    REUSE_POLICY: settings.reusePolicy,
    REFRESH_GRACE_SECONDS: String(settings.refreshGracePeriod.toSeconds({ integral: false })),
    COOKIE_MODE: settings.cookieMode ? 'on' : 'off',
    CORS_ORIGINS: settings.corsOrigins.join(','),
    REFRESH_COOKIE_PATH: settings.refreshCookiePath,
    ...passkeyEnvironment(settings.passkeys),
  };
  return {
    login: { ...issuing, MFA_KEY_ID: resources.mfaKeyArn },
    refresh: issuing,
    revoke: { ...issuing, ...verifying },
    jwks: { ...common, ...verifying },
    authorizer: {
      ...common,
      ...verifying,
      ROUTE_SCOPES: JSON.stringify(settings.routeScopes),
      AUTHORIZER_RESPONSE: settings.authorizerResponse,
      DENYLIST_CACHE_SECONDS: String(settings.denylistCacheTtl.toSeconds()),
    },
    account: {
      ...common,
      CLIENT_ID: settings.clientId,
      ACCESS_TOKEN_TTL_SECONDS: issuing.ACCESS_TOKEN_TTL_SECONDS,
      REFRESH_TOKEN_TTL_SECONDS: issuing.REFRESH_TOKEN_TTL_SECONDS,
      REFRESH_ABSOLUTE_TTL_SECONDS: issuing.REFRESH_ABSOLUTE_TTL_SECONDS,
      MFA_KEY_ID: resources.mfaKeyArn,
      ...passkeyEnvironment(settings.passkeys),
    },
  };
}

/** The relying party's variables (lambdas/config/passkeys.ts); none: the defaults from the issuer. */
function passkeyEnvironment(passkeys: PasskeyOptions | undefined): Record<string, string> {
  if (passkeys === undefined) return {};
  return {
    PASSKEY_RP_ID: passkeys.rpId,
    ...(passkeys.rpName === undefined ? {} : { PASSKEY_RP_NAME: passkeys.rpName }),
    ...(passkeys.origins === undefined ? {} : { PASSKEY_ORIGINS: passkeys.origins.join(',') }),
  };
}

/** The parser each function runs on its environment at cold start. */
const PARSERS: Record<FunctionName, (env: EnvRecord) => unknown> = {
  login: parseLoginFunctionConfig,
  refresh: parseIssuingFunctionConfig,
  revoke: parseRevokeFunctionConfig,
  jwks: parseJwksFunctionConfig,
  authorizer: parseAuthorizerConfig,
  account: parseAccountFunctionConfig,
};

/** Which prop sets each variable, so that a refusal names what the user wrote. */
const PROP_OF_VARIABLE: Readonly<Record<string, string>> = {
  ISSUER: 'issuer',
  AUDIENCE: 'audience',
  CLIENT_ID: 'clientId',
  SIGNING_ALG: 'signingAlgorithm',
  ACCESS_TOKEN_TTL_SECONDS: 'accessTokenTtl',
  REFRESH_TOKEN_TTL_SECONDS: 'refreshTokenTtl',
  REFRESH_ABSOLUTE_TTL_SECONDS: 'refreshAbsoluteTtl',
  REUSE_POLICY: 'reusePolicy',
  REFRESH_GRACE_SECONDS: 'refreshGracePeriod',
  CLOCK_SKEW_SECONDS: 'clockSkew',
  COOKIE_MODE: 'cookieMode',
  CORS_ORIGINS: 'corsOrigins',
  REFRESH_COOKIE_PATH: 'refreshCookiePath',
  ROUTE_SCOPES: 'routeScopes',
  ADDITIONAL_VERIFY_KEY_IDS: 'additionalVerificationKeys',
  AUTHORIZER_RESPONSE: 'authorizerResponse',
  DENYLIST_CACHE_SECONDS: 'denylistCacheTtl',
  PASSKEY_RP_ID: 'passkeys.rpId',
  PASSKEY_RP_NAME: 'passkeys.rpName',
  PASSKEY_ORIGINS: 'passkeys.origins',
};

/**
 * A value known only at deploy time (a table name, a key ARN, the API endpoint) stands in as a
 * well-formed value of its kind: the parsers check the form of what the user chose, not CloudFormation's.
 */
function atSynth(name: string, value: string): string {
  if (!Token.isUnresolved(value)) return value;
  return name === 'ISSUER' ? DEPLOY_TIME_ISSUER : DEPLOY_TIME;
}

/**
 * Runs every function's own parser on the environment it is deployed with: what a handler would
 * refuse at cold start fails synth, with the handler's message and the props behind it.
 */
function checkFunctionEnvironments(environments: Record<FunctionName, Record<string, string>>): void {
  for (const [name, parse] of Object.entries(PARSERS) as [FunctionName, (env: EnvRecord) => unknown][]) {
    const env = Object.fromEntries(Object.entries(environments[name]).map(([variable, value]) => [variable, atSynth(variable, value)]));
    try {
      parse(env);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const props = Object.entries(PROP_OF_VARIABLE)
        .filter(([variable]) => new RegExp(`\\b${variable}\\b`).test(message))
        .map(([, prop]) => prop);
      throw new Error(`KmsJwtAuth: ${props.length > 0 ? `${props.join(', ')}: ` : ''}the ${name} function would refuse its settings: ${message}`);
    }
  }
}
