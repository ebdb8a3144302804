import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { ServiceMetrics } from './auth-alarms.ts';

export interface AuthDashboardProps {
  /** The service's metrics (see `AuthAlarms.metrics`). */
  readonly metrics: ServiceMetrics;
  /** The authorizer function: its Lambda duration, beside the decision latency it measures itself. */
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
  refreshes: 'Refresh tokens (per 5 minutes)',
  revocations: 'Revocations (per 5 minutes)',
  decisions: 'Authorizer decisions (per 5 minutes)',
  latency: 'Authorizer decision latency (ms)',
  throttles: 'Lambda throttles (per 5 minutes)',
  api: 'Token API (per 5 minutes)',
} as const;

/**
 * One CloudWatch dashboard for an operator: logins by outcome, refresh tokens (rotations, grace
 * retries, invalid, reuse), revocations by kind, the authorizer's decisions and their latency,
 * Lambda throttles, the token API. The counts are the metrics the functions write (CloudWatch
 * embedded metric format), independent of the log level. Authorizer decisions count invocations:
 * a decision API Gateway serves from its cache (`authorizerCacheTtl` above 0) invokes nothing and
 * is not counted.
 */
export class AuthDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: AuthDashboardProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const m = props.metrics;
    const latency = (statistic: string, label: string): cloudwatch.IMetric => m.authorizerLatency.with({ statistic, label, period });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName !== undefined ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.AlarmStatusWidget({ title: DASHBOARD_WIDGETS.alarms, alarms: [...props.alarms], width: 24, height: 4 }),
        ],
        [
          graph(DASHBOARD_WIDGETS.logins, [
            labelled(m.loginsSucceeded, 'succeeded'),
            labelled(m.loginFailuresByReason.bad_credentials, 'wrong credentials'),
            labelled(m.loginFailuresByReason.user_disabled, 'disabled user'),
            labelled(m.loginThrottled, 'throttled (429)'),
          ], 8),
          graph(DASHBOARD_WIDGETS.refreshes, [
            labelled(m.refreshes, 'rotated'),
            labelled(m.refreshGraceRetries, 'retry within grace period'),
            labelled(m.refreshInvalid, 'invalid'),
            labelled(m.refreshTokenReuse, 'reuse detected'),
          ], 8),
          graph(DASHBOARD_WIDGETS.revocations, [
            labelled(m.revocationsByKind.session, 'session (refresh token)'),
            labelled(m.revocationsByKind.access_token, 'access token'),
            labelled(m.revocationsByKind.own_session, 'session ended by its user'),
            labelled(m.revocationsByKind.logout_all, 'logout everywhere'),
          ], 8),
        ],
        [
          graph(DASHBOARD_WIDGETS.decisions, [
            labelled(m.authorizerAllowed, 'allowed'),
            labelled(m.authorizerDenied401, '401 invalid_token'),
            labelled(m.authorizerDenied403, '403 insufficient_scope'),
            labelled(m.authorizerUnavailable503, '503 dependency down (fails closed)'),
            labelled(m.authorizerFailures, 'failures in the logs (503, timeout, crash)'),
          ]),
          graph(DASHBOARD_WIDGETS.latency, [
            latency(cloudwatch.Stats.percentile(50), 'p50'),
            latency(cloudwatch.Stats.percentile(99), 'p99'),
            latency(cloudwatch.Stats.MAXIMUM, 'max'),
            props.authorizerFunction.metricDuration({ period, statistic: cloudwatch.Stats.percentile(99), label: 'Lambda duration p99' }),
          ]),
        ],
        [
          graph(
            DASHBOARD_WIDGETS.throttles,
            Object.entries(props.functions).map(([name, f]) => f.metricThrottles({ period, statistic: cloudwatch.Stats.SUM, label: name })),
          ),
          graph(DASHBOARD_WIDGETS.api, [
            props.httpApi.metricCount({ period, statistic: cloudwatch.Stats.SUM, label: 'requests' }),
            props.httpApi.metricClientError({ period, statistic: cloudwatch.Stats.SUM, label: '4xx' }),
            props.httpApi.metricServerError({ period, statistic: cloudwatch.Stats.SUM, label: '5xx' }),
          ]),
        ],
      ],
    });
  }
}

function graph(title: string, left: cloudwatch.IMetric[], width = 12): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width, height: 6 });
}

function labelled(metric: cloudwatch.IMetric, label: string): cloudwatch.IMetric {
  return metric instanceof cloudwatch.Metric ? metric.with({ label }) : metric;
}
