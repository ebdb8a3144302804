/**
 * The construct: keys, table, token API, the five functions with their environments and grants,
 * alarms. Props and their validation live in kms-jwt-auth-props.ts, the API in token-api.ts, IAM
 * in grants.ts.
 */
import { AUTHORIZER_BUNDLE } from './bundling.ts';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, Stack, Tags } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { AuthAlarms } from './auth-alarms.ts';
import { AuthDashboard } from './auth-dashboard.ts';
import { AuthFunction, type AuthFunctionCode } from './auth-function.ts';
import {
  AuthorizerAttachment,
  type ApiRouteRequirements,
  type AuthorizerInvokePermission,
  type AuthorizerResponse,
  type IKmsJwtAuthorizerSource,
} from './authorizer-attachment.ts';
import { FUNCTION_ACCESS, FUNCTION_NAMES, MFA_KEY_ACTIONS, type FunctionName } from './function-access.ts';
import { grantFunctionAccess } from './grants.ts';
import { ImportedKmsJwtAuth, type KmsJwtAuthAttributes } from './imported-kms-jwt-auth.ts';
import { functionEnvironments, issuerOf, resolveSettings, validateIssuer, type KmsJwtAuthProps } from './kms-jwt-auth-props.ts';
import { SigningKeys } from './signing-keys.ts';
import { MfaKey } from './mfa-key.ts';
import { DEPLOYMENT_TAG_KEY } from '../lambdas/core/key-registry.ts';
import { addTokenRoutes, createTokenApi, createTokenStage, functionId } from './token-api.ts';

export type { SigningAlgorithm } from './signing-keys.ts';
export type { AuthorizerResponse } from './authorizer-attachment.ts';
export type { CustomDomainOptions, KmsJwtAuthProps, LogLevel, PasskeyOptions, ReusePolicy, ThrottleOptions } from './kms-jwt-auth-props.ts';

/**
 * Where each function's code is, relative to this module: in the installed package (this module
 * bundled as `dist/lib/index.js`), the bundle `npm run build` made, `dist/lambdas/<name>/index.mjs`;
 * in this repository (`lib/kms-jwt-auth.ts`), the handler `lambdas/<name>/handler.ts`, bundled at
 * synth. The prebuilt bundle wins when it is there, so a consumer never runs esbuild.
 */
function functionCode(name: FunctionName): AuthFunctionCode {
  const prebuiltDir = fileURLToPath(new URL(`../lambdas/${name}/`, import.meta.url));
  if (existsSync(`${prebuiltDir}index.mjs`)) return { prebuiltDir };
  const entry = `${prebuiltDir}handler.ts`;
  if (!existsSync(entry)) throw new Error(`KmsJwtAuth: neither ${prebuiltDir}index.mjs nor handler entry ${entry} exists`);
  return { entry, depsLockFilePath: fileURLToPath(new URL('../package-lock.json', import.meta.url)) };
}

export const FUNCTION_SETTINGS: Record<
  FunctionName,
  { description: string; memorySize: number; timeout: Duration; sourceMaps?: boolean; requireShim?: boolean }
> = {
  // Password hashing is CPU-bound; CPU scales with memory.
  login: { description: 'POST /login: verifies the password, starts a refresh-token family', memorySize: 1024, timeout: Duration.seconds(10) },
  refresh: { description: 'POST /refresh: rotates the refresh token, detects reuse', memorySize: 512, timeout: Duration.seconds(5) },
  revoke: { description: 'POST /revoke, /refresh/revoke, /logout-all, /sessions/revoke and GET /sessions: revokes tokens and sessions', memorySize: 512, timeout: Duration.seconds(10) },
  jwks: { description: 'GET /.well-known/jwks.json and openid-configuration', memorySize: 256, timeout: Duration.seconds(5) },
  // API Gateway waits at most 10 s for an authorizer.
  // Its cold start delays requests to every protected API: no source-map loading at startup and
  // no `require` shim (its bundle has no CommonJS; npm run bench measures this bundle).
  authorizer: {
    description: 'API Gateway Lambda authorizer: verifies access tokens',
    memorySize: 512,
    timeout: Duration.seconds(5),
    ...AUTHORIZER_BUNDLE,
  },
  // Password hashing again (changing a password, re-authentication): CPU scales with memory.
  account: { description: 'Routes behind the authorizer for the signed-in user\'s own account', memorySize: 1024, timeout: Duration.seconds(10) },
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
  protected readonly invokePermission: AuthorizerInvokePermission;
  private readonly routeScopes: ApiRouteRequirements;

  /** The token API. */
  public readonly httpApi: apigwv2.HttpApi;
  /** Its `$default` stage. */
  public readonly stage: apigwv2.HttpStage;
  /** The single table: users, refresh-token families, denylist, rate-limit counters. */
  public readonly table: dynamodb.Table;
  /** The KMS keys. */
  public readonly keys: SigningKeys;
  /** The symmetric KMS key that seals TOTP secrets. */
  public readonly mfaKey: MfaKey;
  /** The functions, by name. */
  public readonly functions: Readonly<Record<FunctionName, AuthFunction>>;
  /** The alarms. */
  public readonly alarms: AuthAlarms;
  /** The CloudWatch dashboard of the service. */
  public readonly dashboard: AuthDashboard;
  /** The issuer (`iss`). */
  public readonly issuer: string;
  /** The audience (`aud`). */
  public readonly audience: string;
  /** `<issuer>/.well-known/jwks.json`. */
  public readonly jwksUrl: string;
  /** The custom domain, when configured. */
  public readonly domainName?: apigwv2.DomainName;

  protected override stackRouteRequirements(): ApiRouteRequirements {
    return this.routeScopes;
  }

  constructor(scope: Construct, id: string, props: KmsJwtAuthProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    const code = Object.fromEntries(FUNCTION_NAMES.map((name) => [name, functionCode(name)])) as Record<FunctionName, AuthFunctionCode>;
    const stackName = Stack.of(this).stackName;
    this.authorizerResponse = settings.authorizerResponse;
    this.defaultAuthorizerCacheTtl = settings.authorizerCacheTtl;
    this.invokePermission = settings.authorizerInvokePermission;
    this.routeScopes = settings.routeScopes;

    // --- Keys -----------------------------------------------------------------------------
    this.keys = new SigningKeys(this, 'Keys', {
      algorithm: settings.signingAlgorithm,
      generations: settings.keyGenerations,
      additionalVerificationKeys: props.additionalVerificationKeys ?? [],
      removalPolicy: settings.removalPolicy,
      aliasPrefix: props.keyAliasPrefix ?? `kms-jwt-auth/${stackName}`,
    });

    this.mfaKey = new MfaKey(this, 'MfaKey', { removalPolicy: settings.removalPolicy });

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

    // The deployment tag on every key: the functions' grants cover tagged keys (lib/grants.ts),
    // so the keys rotate-key creates with the same tag work without a redeploy.
    Tags.of(this.keys).add(DEPLOYMENT_TAG_KEY, this.table.tableName);

    // --- Token API and issuer ---------------------------------------------------------------
    const api = createTokenApi(this, settings, stackName, props.customDomain);
    this.httpApi = api.httpApi;
    if (api.domainName !== undefined) this.domainName = api.domainName;
    this.issuer = issuerOf(props, api.httpApi.apiEndpoint);
    validateIssuer(this.issuer);
    this.audience = settings.audience;
    this.jwksUrl = `${this.issuer}/.well-known/jwks.json`;

    // --- Functions (resolveSettings checked these environments with the functions' parsers) ----
    // One metrics namespace per stack: the functions write to it, the alarms and dashboard read it.
    const metricNamespace = `KmsJwtAuth/${stackName}`;
    const environments = functionEnvironments(settings, {
      tableName: this.table.tableName,
      issuer: this.issuer,
      signingKeyArn: this.keys.signingKey.keyArn,
      verifyKeyArns: this.keys.verificationKeys.map((key) => key.keyArn),
      additionalVerifyKeyArns: this.keys.additionalVerificationKeys.map((key) => key.keyArn),
      metricNamespace,
      mfaKeyArn: this.mfaKey.key.keyArn,
    });
    const functions = {} as Record<FunctionName, AuthFunction>;
    for (const name of FUNCTION_NAMES) {
      const fn = new AuthFunction(this, functionId(name), {
        code: code[name],
        ...FUNCTION_SETTINGS[name],
        environment: environments[name],
        logRetention: settings.logRetention,
        removalPolicy: settings.removalPolicy,
        tracing: props.tracing ?? false,
        ...(name === 'authorizer' && settings.authorizerReservedConcurrency !== undefined
          ? { reservedConcurrentExecutions: settings.authorizerReservedConcurrency }
          : {}),
      });
      grantFunctionAccess(name, fn, this.table, this.keys, this.mfaKey.key);
      functions[name] = fn;
    }
    this.functions = functions;
    this.keys.allowSigning(
      FUNCTION_NAMES.filter((name) => FUNCTION_ACCESS[name].keyAccess === 'sign').map((name) => functions[name].role),
    );
    for (const access of ['seal-and-open', 'open'] as const) {
      const roles = FUNCTION_NAMES.filter((name) => FUNCTION_ACCESS[name].mfaKeyAccess === access).map((name) => functions[name].role);
      this.mfaKey.allowUse(access === 'open' ? 'OpenTotpSecrets' : 'SealAndOpenTotpSecrets', roles, MFA_KEY_ACTIONS[access]);
    }
    this.authorizerFunction = functions.authorizer.function;
    if (this.invokePermission === 'account') {
      // Every API Gateway API of this account and region, whatever its id: the ARN pattern alone
      // would admit another account's API in a shared partition, hence AWS:SourceAccount too.
      // https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html#permissions-resource-serviceinvoke
      this.authorizerFunction.addPermission('AccountApisInvoke', {
        principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        sourceAccount: Stack.of(this).account,
        sourceArn: Stack.of(this).formatArn({
          service: 'execute-api',
          resource: '*',
          arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          resourceName: 'authorizers/*',
        }),
      });
    }

    // --- Routes and stage ---------------------------------------------------------------------
    // Logging out everywhere needs a valid access token: our own authorizer guards it.
    const publicRoutes = addTokenRoutes(this.httpApi, functions, this.httpLambdaAuthorizer(this, 'LogoutAllAuthorizer'));
    this.stage = createTokenStage(this, settings, api, publicRoutes);

    // --- Alarms ---------------------------------------------------------------------------
    this.alarms = new AuthAlarms(this, 'Alarms', {
      metricNamespace,
      authorizerFunction: functions.authorizer.function,
      authorizerLogGroup: functions.authorizer.logGroup,
      functions: Object.fromEntries(FUNCTION_NAMES.map((name) => [name, functions[name].function])),
      httpApi: this.httpApi,
      loginFailureThreshold: props.loginFailureAlarmThreshold ?? 50,
      api4xxThreshold: props.api4xxAlarmThreshold ?? 500,
      ...(props.alarmTopic !== undefined ? { alarmTopic: props.alarmTopic } : {}),
    });
    this.dashboard = new AuthDashboard(this, 'Dashboard', {
      metrics: this.alarms.metrics,
      authorizerFunction: functions.authorizer.function,
      functions: Object.fromEntries(FUNCTION_NAMES.map((name) => [name, functions[name].function])),
      httpApi: this.httpApi,
      alarms: this.alarms.alarms,
    });
  }
}
