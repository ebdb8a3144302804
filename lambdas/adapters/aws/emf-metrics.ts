/**
 * The authorizer's metrics as CloudWatch embedded metric format (EMF) lines, written by hand
 * instead of through Powertools Metrics (which the token functions use, `lambdas/http/metrics.ts`),
 * because the authorizer is the hot path of every protected API and its cold start is kept small
 * on purpose (it does not load the AWS SDK either). Measured on the same machine: Powertools
 * Metrics adds about 15 KB to the minified bundle and about 1.7 ms to import-and-first-line, and
 * costs about 8.5 µs of CPU per decision (a metrics store, validation, a `JSON.stringify` of the
 * document) against about 2 µs for this emitter. One decision is one line of fixed shape, so the
 * line is two constant strings around three numbers. docs/deploy.md ("Metrics and dashboard").
 *
 * The line follows the EMF specification: a JSON object whose `_aws` member names the timestamp,
 * the namespace, the dimension sets and the metrics (name and unit), and whose top-level members
 * carry the dimension values and the metric values.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * CloudWatch Logs extracts the metrics from the function's log group: no `cloudwatch:PutMetricData`
 * permission, no network call. Written to stdout directly, as Powertools does, because the Lambda
 * runtime's `console.log` prefixes each line with a timestamp and request id in the text log format.
 *
 * Same dimension (`service`), namespace and switches as Powertools Metrics:
 * `POWERTOOLS_METRICS_NAMESPACE`, `POWERTOOLS_METRICS_DISABLED`, and `POWERTOOLS_DEV` (disables
 * metrics unless `POWERTOOLS_METRICS_DISABLED=false`, and writes through the global `console`).
 */
import type { AuthorizerMetrics, AuthorizerOutcome } from '../../core/ports.ts';
import { AUTHORIZER_METRIC_NAMES, METRIC_SERVICES } from './metric-names.ts';

export interface EmfSettings {
  readonly namespace: string;
  readonly enabled: boolean;
  /** Powertools' dev mode: lines go through the global `console` (test runners capture it per test). */
  readonly devMode: boolean;
}

const TRUE = new Set(['1', 'y', 'yes', 't', 'true', 'on']);
const FALSE = new Set(['0', 'n', 'no', 'f', 'false', 'off']);
const flag = (value: string | undefined): boolean | undefined => {
  const text = value?.trim().toLowerCase();
  if (text === undefined) return undefined;
  return TRUE.has(text) ? true : FALSE.has(text) ? false : undefined;
};

/** Powertools Metrics' rules for the same variables (commons `getBooleanFromEnv`, extended parsing). */
export function emfSettingsFromEnv(env: Readonly<Record<string, string | undefined>>, defaultNamespace: string): EmfSettings {
  const devMode = flag(env['POWERTOOLS_DEV']) ?? false;
  const disabled = flag(env['POWERTOOLS_METRICS_DISABLED']) ?? devMode;
  return { namespace: env['POWERTOOLS_METRICS_NAMESPACE']?.trim() || defaultNamespace, enabled: !disabled, devMode };
}

const OUTCOMES: readonly AuthorizerOutcome[] = ['allow', 'deny_401', 'deny_403', 'unavailable_503'];

export class EmfAuthorizerMetrics implements AuthorizerMetrics {
  /** Per outcome: the line after the timestamp, up to the latency value. */
  private readonly middles: ReadonlyMap<AuthorizerOutcome, string>;
  private failed = false;

  constructor(
    settings: Pick<EmfSettings, 'namespace'>,
    private readonly write: ((line: string) => void) | undefined,
    private readonly service: string = METRIC_SERVICES.authorizer,
    private readonly nowMs: () => number = Date.now,
    private readonly onFailure: (error: unknown) => void = () => undefined,
  ) {
    const namespace = JSON.stringify(settings.namespace);
    const serviceValue = JSON.stringify(this.service);
    this.middles = new Map(
      OUTCOMES.map((outcome) => {
        const count = AUTHORIZER_METRIC_NAMES[outcome];
        const metrics = `[{"Name":"${count}","Unit":"Count"},{"Name":"${AUTHORIZER_METRIC_NAMES.latency}","Unit":"Milliseconds"}]`;
        return [
          outcome,
          `,"CloudWatchMetrics":[{"Namespace":${namespace},"Dimensions":[["service"]],"Metrics":${metrics}}]},"service":${serviceValue},"${count}":1,"${AUTHORIZER_METRIC_NAMES.latency}":`,
        ];
      }),
    );
  }

  decision(outcome: AuthorizerOutcome, latencyMs: number): void {
    if (this.write === undefined) return;
    try {
      // Microsecond precision is plenty; a non-finite value would make the line invalid JSON.
      const latency = Number.isFinite(latencyMs) ? Math.round(latencyMs * 1000) / 1000 : 0;
      this.write(`{"_aws":{"Timestamp":${this.nowMs()}${this.middles.get(outcome) ?? ''}${latency}}\n`);
    } catch (error) {
      // A metric must never fail a decision; say so once per container.
      if (this.failed) return;
      this.failed = true;
      this.onFailure(error);
    }
  }
}

/** The authorizer's metrics for the settings: to stdout, through `console` in dev mode, or none. */
export function createAuthorizerMetrics(settings: EmfSettings, onFailure: (error: unknown) => void): EmfAuthorizerMetrics {
  let write: ((line: string) => void) | undefined;
  if (settings.enabled && settings.devMode) write = (line) => console.log(line.slice(0, -1));
  else if (settings.enabled) {
    write = (line) => void process.stdout.write(line);
    // Node opens `process.stdout` on first use (1.5 to 5 ms for a pipe, measured), which would land
    // on the first decision's critical path; opened on the next turn of the event loop instead, it
    // overlaps the init phase or the first decision's revocation read.
    setImmediate(() => process.stdout.writable).unref();
  }
  return new EmfAuthorizerMetrics(settings, write, METRIC_SERVICES.authorizer, Date.now, onFailure);
}
