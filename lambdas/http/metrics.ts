/**
 * The token functions' metrics: CloudWatch embedded metric format (EMF) through Powertools
 * Metrics. Each event is a count in one namespace per deployment, with one small dimension set:
 * `service` (the function: login, refresh, revoke), plus `reason` / `kind` on the two counts that
 * have one (`adapters/aws/metric-names.ts`). Never a user, sub, address or token: each distinct
 * dimension value is a metric of its own, billed per month, and metrics are aggregates.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 *
 * EMF is a log line: CloudWatch Logs extracts the metrics from the function's own log group, so
 * publishing needs no `cloudwatch:PutMetricData` permission and no network call.
 *
 * Flushed once per invocation by `flush()`, which the HTTP pipeline (`handler.ts`) calls after
 * every request, success or error, and which publishes only when the invocation counted something:
 * Powertools' own `logMetrics` middleware publishes every time and logs a warning when there is
 * nothing to publish (a GET /sessions, a 400), which would be one useless WARN line per such
 * request. A failure to record or publish never fails the request:
 * it is logged once per container and the request goes on.
 *
 * Disabled as Powertools decides: `POWERTOOLS_METRICS_DISABLED=true`, or `POWERTOOLS_DEV=true`
 * unless `POWERTOOLS_METRICS_DISABLED=false` (the tests run in dev mode, so nothing is printed
 * unless a test asks for the lines).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { AuthMetrics, LoginRefusal, RevocationKind } from '../core/ports.ts';
import { DEFAULT_METRICS_NAMESPACE, METRIC_NAMES } from '../adapters/aws/metric-names.ts';

type ErrorLog = Pick<Logger, 'warn'>;

/** `AuthMetrics` over one Powertools `Metrics` per function. */
export class PowertoolsAuthMetrics implements AuthMetrics {
  private failed = false;

  constructor(
    readonly metrics: Metrics,
    private readonly log: ErrorLog,
  ) {}

  loginSucceeded(): void {
    this.count(METRIC_NAMES.loginSucceeded);
  }

  loginFailed(reason: LoginRefusal): void {
    this.count(METRIC_NAMES.loginFailed, { reason });
  }

  loginThrottled(): void {
    this.count(METRIC_NAMES.loginThrottled);
  }

  refreshSucceeded(): void {
    this.count(METRIC_NAMES.refreshSucceeded);
  }

  refreshGraceRetry(): void {
    this.count(METRIC_NAMES.refreshGraceRetry);
  }

  refreshReuseDetected(): void {
    this.count(METRIC_NAMES.refreshReuseDetected);
  }

  refreshInvalid(): void {
    this.count(METRIC_NAMES.refreshInvalid);
  }

  revocation(kind: RevocationKind): void {
    this.count(METRIC_NAMES.revocation, { kind });
  }

  /** Publishes what this invocation counted, if anything (one EMF line per dimension set). */
  flush(): void {
    try {
      if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
    } catch (error) {
      this.metrics.clearMetrics();
      this.failedOnce(error);
    }
  }

  /**
   * A count with a per-event dimension goes out at once as a single-metric line of its own
   * (`singleMetric()`), so that the dimension never lands on another metric of the invocation.
   * It is counted under two dimension sets: `service` alone (the total, which alarms use) and
   * `service` with the event's dimension (the breakdown the dashboard shows).
   */
  private count(name: string, dimensions?: Readonly<Record<string, string>>): void {
    try {
      if (dimensions === undefined) {
        this.metrics.addMetric(name, MetricUnit.Count, 1);
        return;
      }
      const single = this.metrics.singleMetric();
      single.addDimensions({});
      single.addDimensions({ ...dimensions });
      single.addMetric(name, MetricUnit.Count, 1);
    } catch (error) {
      this.failedOnce(error);
    }
  }

  private failedOnce(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.log.warn('metrics could not be recorded', {
      event: 'metrics_failed',
      cause: error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : typeof error,
    });
  }
}

/** The metrics of one token function; `service` is the function (login, refresh, revoke). */
export function createAuthMetrics(service: 'login' | 'refresh' | 'revoke', log: ErrorLog): PowertoolsAuthMetrics {
  const namespace = process.env['POWERTOOLS_METRICS_NAMESPACE']?.trim() || DEFAULT_METRICS_NAMESPACE;
  // The Logger takes Powertools' warnings (an invalid dimension...), not stdout.
  return new PowertoolsAuthMetrics(new Metrics({ namespace, serviceName: service, logger: quietLogger(log) }), log);
}

/** Powertools' warnings go to the function's log; its debug chatter does not. */
function quietLogger(log: ErrorLog) {
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...args: unknown[]) => log.warn(String(args[0]), { event: 'metrics_warning' }),
    error: (...args: unknown[]) => log.warn(String(args[0]), { event: 'metrics_warning' }),
  };
}
