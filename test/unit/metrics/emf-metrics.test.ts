/**
 * The metrics adapters on their own: the authorizer's hand-written EMF line against the EMF
 * specification, the switches it shares with Powertools Metrics, and that neither adapter ever
 * lets a metric fail a request.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAuthorizerMetrics, EmfAuthorizerMetrics, emfSettingsFromEnv } from '../../../lambdas/adapters/aws/emf-metrics.ts';
import { AUTHORIZER_METRIC_NAMES, DEFAULT_METRICS_NAMESPACE } from '../../../lambdas/adapters/aws/metric-names.ts';
import { createAuthMetrics, PowertoolsAuthMetrics } from '../../../lambdas/http/metrics.ts';
import type { AuthorizerOutcome } from '../../../lambdas/core/ports.ts';

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function emitted(outcome: AuthorizerOutcome, latencyMs: number, namespace = 'KmsJwtAuth/Prod'): Record<string, unknown> {
  const written: string[] = [];
  new EmfAuthorizerMetrics({ namespace }, (line) => written.push(line), 'authorizer', () => 1_700_000_000_123).decision(outcome, latencyMs);
  expect(written).toHaveLength(1);
  expect(written[0]?.endsWith('\n')).toBe(true);
  expect(written[0]?.slice(0, -1)).not.toContain('\n');
  return JSON.parse(written[0] ?? '') as Record<string, unknown>;
}

describe('the authorizer EMF line', () => {
  it('is one EMF document: timestamp, namespace, the service dimension, the decision count and the latency', () => {
    expect(emitted('allow', 1.23456)).toEqual({
      _aws: {
        Timestamp: 1_700_000_000_123,
        CloudWatchMetrics: [
          {
            Namespace: 'KmsJwtAuth/Prod',
            Dimensions: [['service']],
            Metrics: [
              { Name: AUTHORIZER_METRIC_NAMES.allow, Unit: 'Count' },
              { Name: AUTHORIZER_METRIC_NAMES.latency, Unit: 'Milliseconds' },
            ],
          },
        ],
      },
      service: 'authorizer',
      [AUTHORIZER_METRIC_NAMES.allow]: 1,
      [AUTHORIZER_METRIC_NAMES.latency]: 1.235,
    });
  });

  it('names each outcome with its own count', () => {
    for (const outcome of ['allow', 'deny_401', 'deny_403', 'unavailable_503'] as const) {
      const doc = emitted(outcome, 2);
      expect(doc[AUTHORIZER_METRIC_NAMES[outcome]], outcome).toBe(1);
      const counts = Object.values(AUTHORIZER_METRIC_NAMES).filter((name) => name !== AUTHORIZER_METRIC_NAMES.latency && name in doc);
      expect(counts).toEqual([AUTHORIZER_METRIC_NAMES[outcome]]);
    }
  });

  it('stays valid JSON for any namespace text and any latency (escaped; a non-finite latency is 0)', () => {
    expect((emitted('deny_401', Number.NaN, 'a"b\\c') as { _aws: { CloudWatchMetrics: { Namespace: string }[] } })._aws.CloudWatchMetrics[0]?.Namespace).toBe('a"b\\c');
    expect(emitted('deny_401', Number.POSITIVE_INFINITY)[AUTHORIZER_METRIC_NAMES.latency]).toBe(0);
  });

  it('never throws: a failing write is reported once, and later decisions go on', () => {
    const failures: unknown[] = [];
    const metrics = new EmfAuthorizerMetrics({ namespace: 'n' }, () => { throw new Error('EPIPE'); }, 'authorizer', Date.now, (error) => failures.push(error));
    for (let i = 0; i < 3; i++) expect(() => metrics.decision('allow', 1)).not.toThrow();
    expect(failures).toHaveLength(1);
  });
});

describe('the switches, as Powertools Metrics reads them', () => {
  it('metrics are on by default, off with POWERTOOLS_METRICS_DISABLED, off in dev mode unless POWERTOOLS_METRICS_DISABLED=false', () => {
    expect(emfSettingsFromEnv({}, 'd')).toEqual({ namespace: 'd', enabled: true, devMode: false });
    expect(emfSettingsFromEnv({ POWERTOOLS_METRICS_DISABLED: 'true' }, 'd').enabled).toBe(false);
    expect(emfSettingsFromEnv({ POWERTOOLS_DEV: 'true' }, 'd').enabled).toBe(false);
    expect(emfSettingsFromEnv({ POWERTOOLS_DEV: '1', POWERTOOLS_METRICS_DISABLED: 'false' }, 'd')).toEqual({ namespace: 'd', enabled: true, devMode: true });
    expect(emfSettingsFromEnv({ POWERTOOLS_METRICS_NAMESPACE: ' KmsJwtAuth/Stack ' }, 'd').namespace).toBe('KmsJwtAuth/Stack');
  });

  it('in the test environment (dev mode) neither adapter writes anything unless asked to', () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const stdout = vi.spyOn(process.stdout, 'write');
    createAuthorizerMetrics(emfSettingsFromEnv(process.env, DEFAULT_METRICS_NAMESPACE), () => undefined).decision('allow', 1);
    const http = createAuthMetrics('login', { warn: () => undefined });
    http.loginSucceeded();
    http.loginFailed('bad_credentials');
    http.flush();
    expect(log).not.toHaveBeenCalled();
    expect(stdout).not.toHaveBeenCalled();
  });
});

describe('the token functions\' Powertools adapter', () => {
  it('never throws: a failing Metrics is logged once as a warning, and the request goes on', () => {
    class BrokenMetrics extends Metrics {
      override addMetric(): this {
        throw new RangeError('broken');
      }
      override publishStoredMetrics(): this {
        throw new RangeError('broken');
      }
      override hasStoredMetrics(): boolean {
        return true;
      }
    }
    const warnings: unknown[] = [];
    const metrics = new PowertoolsAuthMetrics(new BrokenMetrics({ namespace: 'n' }), { warn: (...args: unknown[]) => void warnings.push(args) });
    expect(() => {
      metrics.loginSucceeded();
      metrics.refreshInvalid();
      metrics.flush();
    }).not.toThrow();
    expect(warnings).toHaveLength(1);
  });

  it('publishes nothing (and warns nothing) for an invocation that counted nothing', () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const warnings: unknown[] = [];
    const metrics = createAuthMetrics('revoke', { warn: (...args: unknown[]) => void warnings.push(args) });
    metrics.flush();
    expect(log).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
    expect(warnings).toEqual([]);
    metrics.revocation('session');
    metrics.flush();
    // One line: the per-kind count goes out on its own, under the total and the breakdown.
    expect(log).toHaveBeenCalledTimes(1);
    const doc = JSON.parse(String(log.mock.calls[0]?.[0])) as { _aws: { CloudWatchMetrics: { Dimensions: string[][] }[] }; kind: string; service: string };
    expect(doc._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service'], ['service', 'kind']]);
    expect(doc.kind).toBe('session');
    expect(doc.service).toBe('revoke');
    expect(warnings).toEqual([]);
  });
});
