import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { AuthMetrics } from './auth-alarms.ts';

export interface AuthDashboardProps {
  /** The service's counts (see `AuthAlarms.metrics`). */
  readonly metrics: AuthMetrics;
  /** The authorizer function: invocations and duration. */
  readonly authorizerFunction: lambda.IFunction;
  /** Every function of the service, by name: throttles. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The token API. */
  readonly httpApi: Pick<apigwv2.HttpApi, 'metricCount' | 'metricClientError' | 'metricServerError'>;
  /** Alarms to show as a status row. */
  readonly alarms: readonly cloudwatch.IAlarm[];
  /**
   * Name of the dashboard in CloudWatch, unique in the account.
   * @default a name CloudFormation generates
   */
  readonly dashboardName?: string;
}

/** Titles of the widgets, in order; exported so a test can hold the dashboard to them. */
export const DASHBOARD_WIDGETS = {
  alarms: 'Alarms',
  logins: 'Logins (per 5 minutes)',
  sessions: 'Refresh-token reuse and revocations (per 5 minutes)',
  decisions: 'Authorizer decisions (per 5 minutes)',
  latency: 'Authorizer duration (ms)',
  throttles: 'Lambda throttles (per 5 minutes)',
  api: 'Token API (per 5 minutes)',
} as const;

/**
 * One CloudWatch dashboard for an operator: logins and their failures and throttling, refresh-token
 * reuse and revocations, the authorizer's decisions and duration, Lambda throttles, the token API.
 * Authorizer decisions count invocations: a decision API Gateway serves from its cache
 * (`authorizerCacheTtl` above 0) invokes nothing and is not counted.
 */
export class AuthDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AuthDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const sum = { period, statistic: cloudwatch.Stats.SUM };
    const m = props.metrics;
    const fn = props.authorizerFunction;

    // Allowed = invocations that were neither denied nor failed. Log-derived series have no data
    // points while nothing happens, hence FILL(…, 0).
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html
    const allowed = new cloudwatch.MathExpression({
      expression: 'invocations - FILL(denied401, 0) - FILL(denied403, 0) - FILL(failures, 0)',
      usingMetrics: {
        invocations: fn.metricInvocations(sum),
        denied401: m.authorizerDeniedInvalidToken,
        denied403: m.authorizerDeniedInsufficientScope,
        failures: m.authorizerFailures,
      },
      label: 'allowed',
      period,
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName !== undefined ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.AlarmStatusWidget({ title: DASHBOARD_WIDGETS.alarms, alarms: [...props.alarms], width: 24, height: 4 }),
        ],
        [
          graph(DASHBOARD_WIDGETS.logins, [
            labelled(m.logins, 'succeeded'),
            labelled(m.loginFailures, 'wrong credentials'),
            labelled(m.loginThrottled, 'throttled (429)'),
          ]),
          graph(DASHBOARD_WIDGETS.sessions, [
            labelled(m.refreshTokenReuse, 'refresh-token reuse'),
            labelled(m.revocations, 'revoke'),
            labelled(m.logoutAll, 'logout everywhere'),
          ]),
        ],
        [
          graph(DASHBOARD_WIDGETS.decisions, [
            allowed,
            labelled(m.authorizerDeniedInvalidToken, '401 invalid_token'),
            labelled(m.authorizerDeniedInsufficientScope, '403 insufficient_scope'),
            labelled(m.authorizerFailures, 'failed'),
          ]),
          graph(DASHBOARD_WIDGETS.latency, [
            fn.metricDuration({ period, statistic: cloudwatch.Stats.percentile(50), label: 'p50' }),
            fn.metricDuration({ period, statistic: cloudwatch.Stats.percentile(99), label: 'p99' }),
            fn.metricDuration({ period, statistic: cloudwatch.Stats.MAXIMUM, label: 'max' }),
          ]),
        ],
        [
          graph(
            DASHBOARD_WIDGETS.throttles,
            Object.entries(props.functions).map(([name, f]) => f.metricThrottles({ ...sum, label: name })),
          ),
          graph(DASHBOARD_WIDGETS.api, [
            props.httpApi.metricCount({ ...sum, label: 'requests' }),
            props.httpApi.metricClientError({ ...sum, label: '4xx' }),
            props.httpApi.metricServerError({ ...sum, label: '5xx' }),
          ]),
        ],
      ],
    });
  }
}

function graph(title: string, left: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width: 12, height: 6 });
}

function labelled(metric: cloudwatch.IMetric, label: string): cloudwatch.IMetric {
  return metric instanceof cloudwatch.Metric ? metric.with({ label }) : metric;
}
