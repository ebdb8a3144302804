import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { parseRouteRequirements, type RouteRequirement, type RouteRequirementInput } from '../lambdas/core/route-requirements.ts';
import type { AuthorizerResponse } from './authorizer-attachment.ts';
import type { CustomDomainOptions, KmsJwtAuthProps, LogLevel, ReusePolicy } from './kms-jwt-auth.ts';
import type { SigningAlgorithm } from './signing-keys.ts';

/**
 * The `cdk.json` context keys `bin/app.ts` reads, all prefixed `kms-jwt-auth:`. Each can be
 * overridden on the command line: `npx cdk deploy -c kms-jwt-auth:cookieMode=true`.
 * Lists accept a JSON array or a comma-separated string; `routeScopes` a JSON object.
 * docs/deploy.md documents each one.
 */
export const CONTEXT_PREFIX = 'kms-jwt-auth:';

export const CONTEXT_KEYS = [
  'stackName',
  'issuer',
  'audience',
  'clientId',
  'signingAlgorithm',
  'accessTokenTtlMinutes',
  'refreshTokenTtlDays',
  'refreshAbsoluteTtlDays',
  'reusePolicy',
  'refreshGraceSeconds',
  'cookieMode',
  'corsOrigins',
  'refreshCookiePath',
  'authorizerCacheTtlSeconds',
  'authorizerResponse',
  'authorizerReservedConcurrency',
  'denylistCacheTtlSeconds',
  'clockSkewSeconds',
  'routeScopes',
  'removalPolicy',
  'deletionProtection',
  'logRetentionDays',
  'logLevel',
  'customDomainName',
  'certificateArn',
  'hostedZoneId',
  'hostedZoneName',
  'keyGenerations',
  'additionalVerificationKeyArns',
  'alarmTopicArn',
  'loginFailureAlarmThreshold',
  'throttleRateLimit',
  'throttleBurstLimit',
  'loginThrottleRateLimit',
  'loginThrottleBurstLimit',
  'tracing',
  'passkeyRpId',
  'passkeyRpName',
  'passkeyOrigins',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

export interface AppSettings {
  readonly stackName: string;
  /** Builds the construct props; needs a scope for imported resources (certificate, keys, topic). */
  authProps(scope: Construct): KmsJwtAuthProps;
}

/** Reads and validates the `kms-jwt-auth:*` context of `node`; throws on a malformed value. */
export function readAppSettings(node: Construct['node']): AppSettings {
  const raw = (key: ContextKey): unknown => {
    const value: unknown = node.tryGetContext(`${CONTEXT_PREFIX}${key}`);
    return value === null || value === '' ? undefined : value;
  };
  const fail = (key: ContextKey, expected: string, value: unknown): never => {
    throw new Error(`context ${CONTEXT_PREFIX}${key}: expected ${expected}, got ${JSON.stringify(value)}`);
  };
  const string = (key: ContextKey): string | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : fail(key, 'a string', value);
  };
  const oneOf = <T extends string>(key: ContextKey, allowed: readonly T[]): T | undefined => {
    const value = string(key);
    if (value === undefined) return undefined;
    return allowed.find((candidate) => candidate === value) ?? fail(key, allowed.join(' | '), value);
  };
  const number = (key: ContextKey): number | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    const parsed = typeof value === 'string' && /^\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    return typeof parsed === 'number' && Number.isFinite(parsed) && parsed >= 0 ? parsed : fail(key, 'a non-negative number', value);
  };
  const boolean = (key: ContextKey): boolean | undefined => {
    const value = raw(key);
    if (value === undefined) return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    return fail(key, 'true or false', value);
  };
  const list = (key: ContextKey): string[] | undefined => {
    let value = raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'string') {
      value = value.trim().startsWith('[') ? parseJson(key, value) : value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    }
    if (Array.isArray(value) && value.every((item): item is string => typeof item === 'string')) return value;
    return fail(key, 'a list of strings', value);
  };
  const scopes = (key: ContextKey): Record<string, RouteRequirementInput> | undefined => {
    let value = raw(key);
    if (value === undefined) return undefined;
    if (typeof value === 'string') value = parseJson(key, value);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(key, 'an object', value);
    const result: Record<string, RouteRequirementInput> = {};
    for (const [route, required] of Object.entries(value)) {
      if (Array.isArray(required) && required.every((item): item is string => typeof item === 'string')) {
        result[route] = required;
        continue;
      }
      // The requirement form ({scopes, mfa, maxAuthAgeSeconds}), narrowed by the authorizer's parser.
      let requirement: RouteRequirement | undefined;
      try {
        requirement = parseRouteRequirements({ [route]: required }, key)[0]?.requirement;
      } catch {
        requirement = undefined;
      }
      if (requirement === undefined) return fail(key, `a list of scopes or {scopes, mfa, maxAuthAgeSeconds} for "${route}"`, required);
      result[route] = {
        scopes: requirement.scopes,
        ...(requirement.mfa ? { mfa: true } : {}),
        ...(requirement.maxAuthAgeSeconds === undefined ? {} : { maxAuthAgeSeconds: requirement.maxAuthAgeSeconds }),
      };
    }
    return result;
  };
  const parseJson = (key: ContextKey, text: string): unknown => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return fail(key, 'valid JSON', text);
    }
  };
  const retention = (key: ContextKey): logs.RetentionDays | undefined => {
    const days = number(key);
    if (days === undefined) return undefined;
    const allowed = Object.values(logs.RetentionDays).filter((v): v is logs.RetentionDays => typeof v === 'number');
    return allowed.find((candidate) => candidate === days) ?? fail(key, `one of ${allowed.join(', ')}`, days);
  };
  const throttle = (rateKey: ContextKey, burstKey: ContextKey): { rateLimit: number; burstLimit: number } | undefined => {
    const rateLimit = number(rateKey);
    const burstLimit = number(burstKey);
    if (rateLimit === undefined && burstLimit === undefined) return undefined;
    if (rateLimit === undefined || burstLimit === undefined) {
      return fail(rateLimit === undefined ? rateKey : burstKey, `a number (set ${rateKey} and ${burstKey} together)`, undefined);
    }
    return { rateLimit, burstLimit };
  };

  // Read everything eagerly so a malformed value fails before any construct is created.
  const stackName = string('stackName') ?? 'KmsJwtAuth';
  const removal = oneOf('removalPolicy', ['retain', 'destroy'] as const);
  const customDomainName = string('customDomainName');
  const certificateArn = string('certificateArn');
  const hostedZoneId = string('hostedZoneId');
  const hostedZoneName = string('hostedZoneName');
  if ((customDomainName === undefined) !== (certificateArn === undefined)) {
    fail(customDomainName === undefined ? 'customDomainName' : 'certificateArn', 'customDomainName and certificateArn together', undefined);
  }
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    fail(hostedZoneId === undefined ? 'hostedZoneId' : 'hostedZoneName', 'hostedZoneId and hostedZoneName together', undefined);
  }
  const minutes = number('accessTokenTtlMinutes');
  const refreshDays = number('refreshTokenTtlDays');
  const absoluteDays = number('refreshAbsoluteTtlDays');
  const cacheSeconds = number('authorizerCacheTtlSeconds');
  const denylistSeconds = number('denylistCacheTtlSeconds');
  const skewSeconds = number('clockSkewSeconds');
  const graceSeconds = number('refreshGraceSeconds');
  const values = {
    issuer: string('issuer'),
    audience: string('audience'),
    clientId: string('clientId'),
    signingAlgorithm: oneOf<SigningAlgorithm>('signingAlgorithm', ['ES256', 'RS256']),
    accessTokenTtl: minutes === undefined ? undefined : Duration.minutes(minutes),
    refreshTokenTtl: refreshDays === undefined ? undefined : Duration.days(refreshDays),
    refreshAbsoluteTtl: absoluteDays === undefined ? undefined : Duration.days(absoluteDays),
    reusePolicy: oneOf<ReusePolicy>('reusePolicy', ['family', 'user']),
    refreshGracePeriod: graceSeconds === undefined ? undefined : Duration.seconds(graceSeconds),
    cookieMode: boolean('cookieMode'),
    corsOrigins: list('corsOrigins'),
    refreshCookiePath: string('refreshCookiePath'),
    authorizerCacheTtl: cacheSeconds === undefined ? undefined : Duration.seconds(cacheSeconds),
    authorizerResponse: oneOf<AuthorizerResponse>('authorizerResponse', ['simple', 'iam']),
    authorizerReservedConcurrency: number('authorizerReservedConcurrency'),
    denylistCacheTtl: denylistSeconds === undefined ? undefined : Duration.seconds(denylistSeconds),
    clockSkew: skewSeconds === undefined ? undefined : Duration.seconds(skewSeconds),
    routeScopes: scopes('routeScopes'),
    removalPolicy: removal === undefined ? undefined : removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    deletionProtection: boolean('deletionProtection'),
    logRetention: retention('logRetentionDays'),
    logLevel: oneOf<LogLevel>('logLevel', ['DEBUG', 'INFO', 'WARN', 'ERROR']),
    keyGenerations: list('keyGenerations'),
    loginFailureAlarmThreshold: number('loginFailureAlarmThreshold'),
    throttle: throttle('throttleRateLimit', 'throttleBurstLimit'),
    loginThrottle: throttle('loginThrottleRateLimit', 'loginThrottleBurstLimit'),
    tracing: boolean('tracing'),
  };
  const passkeyRpId = string('passkeyRpId');
  const passkeyRpName = string('passkeyRpName');
  const passkeyOrigins = list('passkeyOrigins');
  if (passkeyRpId === undefined && (passkeyRpName !== undefined || passkeyOrigins !== undefined)) {
    fail(passkeyRpName === undefined ? 'passkeyOrigins' : 'passkeyRpName', 'passkeyRpId with it', undefined);
  }
  const additionalKeyArns = list('additionalVerificationKeyArns') ?? [];
  const alarmTopicArn = string('alarmTopicArn');

  return {
    stackName,
    authProps(scope: Construct): KmsJwtAuthProps {
      const customDomain: CustomDomainOptions | undefined =
        customDomainName !== undefined && certificateArn !== undefined
          ? {
              domainName: customDomainName,
              certificate: acm.Certificate.fromCertificateArn(scope, 'Certificate', certificateArn),
              ...(hostedZoneId !== undefined && hostedZoneName !== undefined
                ? {
                    hostedZone: route53.HostedZone.fromHostedZoneAttributes(scope, 'HostedZone', {
                      hostedZoneId,
                      zoneName: hostedZoneName,
                    }),
                  }
                : {}),
            }
          : undefined;
      return {
        ...withoutUndefined(values),
        ...(passkeyRpId !== undefined
          ? {
              passkeys: {
                rpId: passkeyRpId,
                ...(passkeyRpName === undefined ? {} : { rpName: passkeyRpName }),
                ...(passkeyOrigins === undefined ? {} : { origins: passkeyOrigins }),
              },
            }
          : {}),
        ...(customDomain !== undefined ? { customDomain } : {}),
        ...(additionalKeyArns.length > 0
          ? {
              additionalVerificationKeys: additionalKeyArns.map((arn, index) =>
                kms.Key.fromKeyArn(scope, `AdditionalVerificationKey${index}`, arn),
              ),
            }
          : {}),
        ...(alarmTopicArn !== undefined
          ? { alarmTopic: sns.Topic.fromTopicArn(scope, 'AlarmTopic', alarmTopicArn) }
          : {}),
      };
    },
  };
}

/** Drops the keys whose value is `undefined`, as `exactOptionalPropertyTypes` requires. */
function withoutUndefined<T extends object>(obj: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(obj).filter(([, value]) => value !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
