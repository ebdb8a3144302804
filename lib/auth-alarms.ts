import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { LoginRefusal, RevocationKind } from '../lambdas/core/ports.ts';
import {
  AUTHORIZER_METRIC_NAMES,
  LOGIN_REFUSALS,
  METRIC_NAMES,
  METRIC_SERVICES,
  REVOCATION_KINDS,
} from '../lambdas/adapters/aws/metric-names.ts';

/**
 * Structured log events the handlers write (one JSON object per line, `"event": "<name>"`). The
 * counts behind the dashboard and alarms are metrics the functions write themselves (EMF, below);
 * these names are for searching the logs (CloudWatch Logs Insights), e.g. the `sub` and `sid` of a
 * refresh-token reuse.
 */
export const LOG_EVENTS = {
  refreshTokenReuse: 'refresh_token_reuse',
  login: 'login',
  loginFailed: 'login_failed',
  requestFailed: 'request_failed',
  revoke: 'revoke',
  logoutAll: 'logout_all',
} as const;

/**
 * Terms of the authorizer's denial lines (`lambdas/authorizer/authorizer.ts`, pinned by a unit
 * test): the message, and the RFC 6750 §3.1 error code each line names. For searching the logs;
 * the decisions themselves are counted as metrics (`AuthorizerDenied401`, `AuthorizerDenied403`).
 */
export const AUTHORIZER_DECISION_TERMS = {
  denied: 'authorizer denied',
  invalidToken: 'invalid_token',
  insufficientScope: 'insufficient_scope',
} as const;

/**
 * Log lines of authorizer failures that are neither a 401 nor a 403: a dependency down (it fails
 * closed), a bug, a timeout, a broken configuration or module. The authorizer's Lambda `Errors`
 * metric cannot tell these apart from bad tokens, because API Gateway needs a thrown
 * "Unauthorized" for a 401 and Lambda counts that as a function error; alarming on it would page
 * for every expired token. A metric the authorizer writes cannot count them either: a timeout or a
 * module that fails to load writes no metric. The first two are the authorizer's own lines
 * (`lambdas/authorizer/authorizer.ts`, pinned by a unit test); the others are what the Lambda
 * runtime writes. Matched as plain-text terms, since the authorizer logs with `console.log`.
 */
export const AUTHORIZER_FAILURE_TERMS = [
  'authorizer dependency unavailable',
  'authorizer internal error',
  'Task timed out',
  'ConfigurationError',
  'Runtime.ImportModuleError',
  'Runtime.ExitError',
] as const;

/**
 * The service's own metrics, as the functions write them (CloudWatch embedded metric format,
 * `lambdas/adapters/aws/metric-names.ts`), each a sum per 5 minutes unless said otherwise.
 */
export interface ServiceMetrics {
  /** Successful logins. */
  readonly loginsSucceeded: cloudwatch.IMetric;
  /** Logins refused with 401 (wrong user name or password, or a disabled user), all reasons. */
  readonly loginFailures: cloudwatch.IMetric;
  /** The same, one series per reason (`bad_credentials`, `user_disabled`). */
  readonly loginFailuresByReason: Readonly<Record<LoginRefusal, cloudwatch.IMetric>>;
  /** Login attempts refused with 429 by the per-user and per-source throttle. */
  readonly loginThrottled: cloudwatch.IMetric;
  /** Refresh tokens rotated. */
  readonly refreshes: cloudwatch.IMetric;
  /** Retries within the grace period, answered with the successor already issued. */
  readonly refreshGraceRetries: cloudwatch.IMetric;
  /** Refresh tokens presented again after rotation (possible theft; the family is revoked). */
  readonly refreshTokenReuse: cloudwatch.IMetric;
  /** Refresh tokens refused as malformed, forged, expired or revoked (reuse aside). */
  readonly refreshInvalid: cloudwatch.IMetric;
  /** Revocations that ended something, all kinds. */
  readonly revocations: cloudwatch.IMetric;
  /** The same, one series per kind (`session`, `access_token`, `own_session`, `logout_all`). */
  readonly revocationsByKind: Readonly<Record<RevocationKind, cloudwatch.IMetric>>;
  /** Authorizer decisions: allowed. */
  readonly authorizerAllowed: cloudwatch.IMetric;
  /** Authorizer 401s: token missing, malformed, forged, expired, revoked. */
  readonly authorizerDenied401: cloudwatch.IMetric;
  /** Authorizer 403s: a required scope is missing. */
  readonly authorizerDenied403: cloudwatch.IMetric;
  /** Authorizer decisions that failed closed because a dependency was down (API Gateway answers 500). */
  readonly authorizerUnavailable503: cloudwatch.IMetric;
  /** Authorizer failures found in its log lines (dependency down, bug, timeout, broken module). */
  readonly authorizerFailures: cloudwatch.IMetric;
  /** Milliseconds from event to decision; average per 5 minutes unless a statistic is given. */
  readonly authorizerLatency: cloudwatch.Metric;
}

export interface AuthAlarmsProps {
  /**
   * CloudWatch namespace of the service's metrics: the one the functions write to
   * (`POWERTOOLS_METRICS_NAMESPACE`), which the log metric filter uses too.
   */
  readonly metricNamespace: string;
  /** The authorizer function. */
  readonly authorizerFunction: lambda.IFunction;
  /** Its log group (the failure alarm reads its log lines, see `AUTHORIZER_FAILURE_TERMS`). */
  readonly authorizerLogGroup: logs.ILogGroup;
  /** Every function of the service, by name (for errors and throttles). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The token API. */
  readonly httpApi: Pick<apigwv2.HttpApi, 'metricServerError' | 'metricClientError'>;
  /** Failed logins in 5 minutes that count as a spike (credential stuffing, brute force). */
  readonly loginFailureThreshold: number;
  /** API Gateway 4xx responses in 5 minutes that raise an alarm (throttling answers 429). */
  readonly api4xxThreshold: number;
  /** Where alarms notify, if anywhere. */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * The metrics the functions write, in `namespace`, as CloudWatch graphs and alarms them: by
 * metric name and the exact dimension set it was written with (`service`, plus `reason` or
 * `kind` for the per-event breakdowns).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Dimension
 */
export function serviceMetrics(namespace: string, authorizerFailures: cloudwatch.IMetric, period: Duration = Duration.minutes(5)): ServiceMetrics {
  const metric = (service: string, metricName: string, extra: Record<string, string> = {}, statistic: string = cloudwatch.Stats.SUM): cloudwatch.Metric =>
    new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { service, ...extra }, statistic, period });
  const { login, refresh, revoke, authorizer } = METRIC_SERVICES;
  const byValue = <T extends string>(values: readonly T[], make: (value: T) => cloudwatch.IMetric): Record<T, cloudwatch.IMetric> =>
    Object.fromEntries(values.map((value) => [value, make(value)])) as Record<T, cloudwatch.IMetric>;
  return {
    loginsSucceeded: metric(login, METRIC_NAMES.loginSucceeded),
    loginFailures: metric(login, METRIC_NAMES.loginFailed),
    loginFailuresByReason: byValue(LOGIN_REFUSALS, (reason) => metric(login, METRIC_NAMES.loginFailed, { reason })),
    loginThrottled: metric(login, METRIC_NAMES.loginThrottled),
    refreshes: metric(refresh, METRIC_NAMES.refreshSucceeded),
    refreshGraceRetries: metric(refresh, METRIC_NAMES.refreshGraceRetry),
    refreshTokenReuse: metric(refresh, METRIC_NAMES.refreshReuseDetected),
    refreshInvalid: metric(refresh, METRIC_NAMES.refreshInvalid),
    revocations: metric(revoke, METRIC_NAMES.revocation),
    revocationsByKind: byValue(REVOCATION_KINDS, (kind) => metric(revoke, METRIC_NAMES.revocation, { kind })),
    authorizerAllowed: metric(authorizer, AUTHORIZER_METRIC_NAMES.allow),
    authorizerDenied401: metric(authorizer, AUTHORIZER_METRIC_NAMES.deny_401),
    authorizerDenied403: metric(authorizer, AUTHORIZER_METRIC_NAMES.deny_403),
    authorizerUnavailable503: metric(authorizer, AUTHORIZER_METRIC_NAMES.unavailable_503),
    authorizerFailures,
    authorizerLatency: metric(authorizer, AUTHORIZER_METRIC_NAMES.latency, {}, cloudwatch.Stats.AVERAGE),
  };
}

/**
 * The alarms an operator of an auth service wants:
 * - refresh-token reuse detected: any occurrence is a possible token theft;
 * - login failure spike;
 * - authorizer errors: a failing authorizer denies every request to every attached API;
 * - errors and throttles of every function; API 5xx, and 4xx spikes (which include 429 throttling).
 * The first two watch metrics the functions write (EMF); the authorizer's failures come from its
 * log lines through a metric filter, since a timeout or a crash writes no metric.
 */
export class AuthAlarms extends Construct {
  public readonly alarms: readonly cloudwatch.Alarm[];
  public readonly refreshTokenReuseMetric: cloudwatch.IMetric;
  public readonly loginFailureMetric: cloudwatch.IMetric;
  /** The service's metrics, for the dashboard (sums per 5 minutes). */
  public readonly metrics: ServiceMetrics;

  constructor(scope: Construct, id: string, props: AuthAlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, alarmProps);
      if (props.alarmTopic !== undefined) {
        created.addAlarmAction(new actions.SnsAction(props.alarmTopic));
      }
      alarms.push(created);
      return created;
    };

    // Metric filter: plain-text terms, https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
    new logs.MetricFilter(this, 'AuthorizerFailuresFilter', {
      logGroup: props.authorizerLogGroup,
      filterPattern: logs.FilterPattern.anyTerm(...AUTHORIZER_FAILURE_TERMS),
      metricNamespace: props.metricNamespace,
      metricName: 'AuthorizerFailures',
      metricValue: '1',
    });
    const authorizerFailures = new cloudwatch.Metric({
      namespace: props.metricNamespace,
      metricName: 'AuthorizerFailures',
      statistic: cloudwatch.Stats.SUM,
      period,
    });

    this.metrics = serviceMetrics(props.metricNamespace, authorizerFailures, period);
    this.refreshTokenReuseMetric = this.metrics.refreshTokenReuse;
    this.loginFailureMetric = this.metrics.loginFailures;

    alarm('RefreshTokenReuseAlarm', {
      alarmDescription:
        'A refresh token was presented after it had been rotated: the family was revoked. Possible token theft; the refresh function logs the sub and sid ("event":"refresh_token_reuse").',
      metric: this.refreshTokenReuseMetric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('LoginFailureSpikeAlarm', {
      alarmDescription: `At least ${props.loginFailureThreshold} failed logins in 5 minutes: possible credential stuffing or brute force.`,
      metric: this.loginFailureMetric,
      threshold: props.loginFailureThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('AuthorizerErrorsAlarm', {
      alarmDescription:
        'The authorizer failed (not a 401/403: a dependency down, a bug, a timeout or a broken configuration). Every API it protects answers 500 for these requests; see the authorizer log lines with "level":"ERROR".',
      metric: authorizerFailures,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    for (const [name, fn] of Object.entries(props.functions)) {
      const label = name.charAt(0).toUpperCase() + name.slice(1);
      if (fn !== props.authorizerFunction) {
        alarm(`${label}ErrorsAlarm`, {
          alarmDescription: `The ${name} function failed (unhandled error or timeout) at least 5 times in 5 minutes.`,
          metric: fn.metricErrors({ period, statistic: cloudwatch.Stats.SUM }),
          threshold: 5,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      }
      alarm(`${label}ThrottlesAlarm`, {
        alarmDescription: `The ${name} function was throttled by Lambda (account or reserved concurrency exhausted).`,
        metric: fn.metricThrottles({ period, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    alarm('Api5xxAlarm', {
      alarmDescription: 'The token API answered 5xx at least 5 times in 5 minutes.',
      metric: props.httpApi.metricServerError({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: 5,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('Api4xxSpikeAlarm', {
      alarmDescription: `The token API answered 4xx (including 429 throttling) at least ${props.api4xxThreshold} times in 5 minutes.`,
      metric: props.httpApi.metricClientError({ period, statistic: cloudwatch.Stats.SUM }),
      threshold: props.api4xxThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.alarms = alarms;
  }
}
