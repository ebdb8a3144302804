import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/**
 * Structured log events the handlers write (one JSON object per line, `"event": "<name>"`).
 * The metric filters below match on them, so renaming one in `lambdas/` silently breaks an alarm.
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
 * test): the message, and the RFC 6750 §3.1 error code each line names. Plain-text terms, like
 * `AUTHORIZER_FAILURE_TERMS`, because the authorizer logs with `console.log`.
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
 * for every expired token. The first two are the authorizer's own lines
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

/** The service's own counts, each a sum per 5 minutes in the stack's namespace. */
export interface AuthMetrics {
  /** Successful logins. */
  readonly logins: cloudwatch.IMetric;
  /** Logins refused for a wrong user name or password. */
  readonly loginFailures: cloudwatch.IMetric;
  /** Login attempts refused with 429 by the per-user and per-source throttle. */
  readonly loginThrottled: cloudwatch.IMetric;
  /** Refresh tokens presented again after rotation (possible theft; the family is revoked). */
  readonly refreshTokenReuse: cloudwatch.IMetric;
  /** `POST /revoke` and `/refresh/revoke` requests. */
  readonly revocations: cloudwatch.IMetric;
  /** `POST /logout-all` requests. */
  readonly logoutAll: cloudwatch.IMetric;
  /** Authorizer 401s: token missing, malformed, expired, revoked. */
  readonly authorizerDeniedInvalidToken: cloudwatch.IMetric;
  /** Authorizer 403s: a required scope is missing. */
  readonly authorizerDeniedInsufficientScope: cloudwatch.IMetric;
  /** Authorizer failures (dependency down, bug, timeout). */
  readonly authorizerFailures: cloudwatch.IMetric;
}

export interface AuthAlarmsProps {
  /** CloudWatch namespace of the metrics extracted from logs. */
  readonly metricNamespace: string;
  /** Log groups of the functions that can detect refresh-token reuse. */
  readonly reuseLogGroups: readonly logs.ILogGroup[];
  /** Log group of the login function. */
  readonly loginLogGroup: logs.ILogGroup;
  /** Log group of the revoke function (revocations and logouts everywhere). */
  readonly revokeLogGroup: logs.ILogGroup;
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
 * The alarms an operator of an auth service wants, and the log metric filters behind them:
 * - refresh-token reuse detected: any occurrence is a possible token theft;
 * - login failure spike;
 * - authorizer errors: a failing authorizer denies every request to every attached API;
 * - errors and throttles of every function; API 5xx, and 4xx spikes (which include 429 throttling).
 */
export class AuthAlarms extends Construct {
  public readonly alarms: readonly cloudwatch.Alarm[];
  public readonly refreshTokenReuseMetric: cloudwatch.Metric;
  public readonly loginFailureMetric: cloudwatch.Metric;
  /** Counts taken from the functions' log lines, for the dashboard (sums per 5 minutes). */
  public readonly metrics: AuthMetrics;

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

    // Metric filters: JSON pattern syntax, https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
    props.reuseLogGroups.forEach((logGroup, index) => {
      new logs.MetricFilter(this, `RefreshTokenReuseFilter${index}`, {
        logGroup,
        filterPattern: logs.FilterPattern.stringValue('$.event', '=', LOG_EVENTS.refreshTokenReuse),
        metricNamespace: props.metricNamespace,
        metricName: 'RefreshTokenReuse',
        metricValue: '1',
      });
    });
    new logs.MetricFilter(this, 'LoginFailedFilter', {
      logGroup: props.loginLogGroup,
      filterPattern: logs.FilterPattern.stringValue('$.event', '=', LOG_EVENTS.loginFailed),
      metricNamespace: props.metricNamespace,
      metricName: 'LoginFailures',
      metricValue: '1',
    });

    new logs.MetricFilter(this, 'AuthorizerFailuresFilter', {
      logGroup: props.authorizerLogGroup,
      filterPattern: logs.FilterPattern.anyTerm(...AUTHORIZER_FAILURE_TERMS),
      metricNamespace: props.metricNamespace,
      metricName: 'AuthorizerFailures',
      metricValue: '1',
    });

    // Counts for the dashboard, from lines the functions write anyway: no extra log volume and
    // nothing added to the authorizer's cold start.
    const count = (filterId: string, logGroup: logs.ILogGroup, filterPattern: logs.IFilterPattern, metricName: string): cloudwatch.Metric => {
      new logs.MetricFilter(this, filterId, { logGroup, filterPattern, metricNamespace: props.metricNamespace, metricName, metricValue: '1' });
      return new cloudwatch.Metric({ namespace: props.metricNamespace, metricName, statistic: cloudwatch.Stats.SUM, period });
    };
    const eventIs = (name: string): logs.JsonPattern => logs.FilterPattern.stringValue('$.event', '=', name);
    const logins = count('LoginFilter', props.loginLogGroup, eventIs(LOG_EVENTS.login), 'Logins');
    // Throttled attempts answer 429 `too_many_requests` (RFC 6585 §4) through the one error path.
    const loginThrottled = count(
      'LoginThrottledFilter',
      props.loginLogGroup,
      logs.FilterPattern.all(eventIs(LOG_EVENTS.requestFailed), logs.FilterPattern.numberValue('$.status', '=', 429)),
      'LoginsThrottled',
    );
    const revocations = count('RevokeFilter', props.revokeLogGroup, eventIs(LOG_EVENTS.revoke), 'Revocations');
    const logoutAll = count('LogoutAllFilter', props.revokeLogGroup, eventIs(LOG_EVENTS.logoutAll), 'LogoutsEverywhere');
    const deniedInvalidToken = count(
      'AuthorizerDeniedInvalidTokenFilter',
      props.authorizerLogGroup,
      logs.FilterPattern.allTerms(AUTHORIZER_DECISION_TERMS.denied, AUTHORIZER_DECISION_TERMS.invalidToken),
      'AuthorizerDeniedInvalidToken',
    );
    const deniedInsufficientScope = count(
      'AuthorizerDeniedInsufficientScopeFilter',
      props.authorizerLogGroup,
      logs.FilterPattern.allTerms(AUTHORIZER_DECISION_TERMS.denied, AUTHORIZER_DECISION_TERMS.insufficientScope),
      'AuthorizerDeniedInsufficientScope',
    );

    this.refreshTokenReuseMetric = new cloudwatch.Metric({
      namespace: props.metricNamespace,
      metricName: 'RefreshTokenReuse',
      statistic: cloudwatch.Stats.SUM,
      period,
    });
    this.loginFailureMetric = new cloudwatch.Metric({
      namespace: props.metricNamespace,
      metricName: 'LoginFailures',
      statistic: cloudwatch.Stats.SUM,
      period,
    });

    const authorizerFailures = new cloudwatch.Metric({
      namespace: props.metricNamespace,
      metricName: 'AuthorizerFailures',
      statistic: cloudwatch.Stats.SUM,
      period,
    });
    this.metrics = {
      logins,
      loginFailures: this.loginFailureMetric,
      loginThrottled,
      refreshTokenReuse: this.refreshTokenReuseMetric,
      revocations,
      logoutAll,
      authorizerDeniedInvalidToken: deniedInvalidToken,
      authorizerDeniedInsufficientScope: deniedInsufficientScope,
      authorizerFailures,
    };

    alarm('RefreshTokenReuseAlarm', {
      alarmDescription:
        'A refresh token was presented after it had been rotated: the family was revoked. Possible token theft; see the refresh function logs for the sub and sid.',
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
