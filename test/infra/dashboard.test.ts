import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_WIDGETS } from '../../lib/auth-dashboard.ts';
import { KmsJwtAuthStack } from '../../lib/kms-jwt-auth-stack.ts';
import { FUNCTION_NAMES } from '../../lib/function-access.ts';
import { AUTHORIZER_METRIC_NAMES, METRIC_NAMES } from '../../lambdas/adapters/aws/metric-names.ts';
import { SYNTH_TIMEOUT_MS, testApp } from './support.ts';

const NAMESPACE = 'KmsJwtAuth/DashboardAuth';

let template: Template;
let body: string;
/** Every metric the dashboard graphs, as CloudWatch reads it: [namespace, name, ...dimension pairs, options]. */
let graphed: unknown[][];

beforeAll(() => {
  template = Template.fromStack(new KmsJwtAuthStack(testApp(), 'DashboardAuth'));
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  // The body is a Fn::Join of JSON text and references; its text is enough to read the widgets.
  body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);
  // Its literal parts joined with a placeholder for each reference make the dashboard's JSON.
  const parts = (dashboards[0]?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const json = parts.map((part) => (typeof part === 'string' ? part : 'REF')).join('');
  const widgets = (JSON.parse(json) as { widgets: { properties: { metrics?: unknown[][] } }[] }).widgets;
  graphed = widgets.flatMap((widget) => widget.properties.metrics ?? []);
}, SYNTH_TIMEOUT_MS);

/** The graphed series of `name` in the service namespace with exactly these dimensions. */
function series(name: string, dimensions: Record<string, string>): Record<string, unknown>[] {
  return graphed
    .filter((metric) => metric[0] === NAMESPACE && metric[1] === name)
    .filter((metric) => {
      const pairs = metric.slice(2).filter((item) => typeof item === 'string');
      const found = new Map(Array.from({ length: pairs.length / 2 }, (_, i) => [pairs[2 * i], pairs[2 * i + 1]]));
      return found.size === Object.keys(dimensions).length && Object.entries(dimensions).every(([key, value]) => found.get(key) === value);
    })
    .map((metric) => (metric.find((item) => typeof item === 'object' && item !== null) ?? {}) as Record<string, unknown>);
}

describe('the dashboard', () => {
  it('has every widget, alarms first', () => {
    const positions = Object.values(DASHBOARD_WIDGETS).map((title) => body.indexOf(title));
    for (const [index, title] of Object.values(DASHBOARD_WIDGETS).entries()) expect(positions[index], title).toBeGreaterThanOrEqual(0);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(body).toContain('"type\\":\\"alarm\\"');
  });

  it('graphs logins by outcome as sums of the metrics the login function writes (reason as a dimension)', () => {
    for (const [name, dimensions] of [
      [METRIC_NAMES.loginSucceeded, { service: 'login' }],
      [METRIC_NAMES.loginFailed, { service: 'login', reason: 'bad_credentials' }],
      [METRIC_NAMES.loginFailed, { service: 'login', reason: 'user_disabled' }],
      [METRIC_NAMES.loginThrottled, { service: 'login' }],
    ] as const) {
      const found = series(name, dimensions);
      expect(found, `${name} ${JSON.stringify(dimensions)}`).toHaveLength(1);
      // Per 5 minutes: the widget's default period, which the body then leaves out.
      expect(found[0]?.['stat']).toBe('Sum');
      expect(found[0]?.['period'] ?? 300).toBe(300);
    }
  });

  it('graphs refresh tokens (rotated, grace retries, invalid, reuse) and revocations by kind', () => {
    for (const name of [METRIC_NAMES.refreshSucceeded, METRIC_NAMES.refreshGraceRetry, METRIC_NAMES.refreshInvalid, METRIC_NAMES.refreshReuseDetected]) {
      expect(series(name, { service: 'refresh' }), name).toHaveLength(1);
    }
    for (const kind of ['session', 'access_token', 'own_session', 'logout_all']) {
      expect(series(METRIC_NAMES.revocation, { service: 'revoke', kind }), kind).toHaveLength(1);
    }
  });

  it("graphs the authorizer's decisions (allowed, 401, 403, 503, failures in its logs) and its decision latency p50 and p99", () => {
    for (const name of [AUTHORIZER_METRIC_NAMES.allow, AUTHORIZER_METRIC_NAMES.deny_401, AUTHORIZER_METRIC_NAMES.deny_403, AUTHORIZER_METRIC_NAMES.unavailable_503]) {
      expect(series(name, { service: 'authorizer' })[0]?.['stat'], name).toBe('Sum');
    }
    expect(series('AuthorizerFailures', {})).toHaveLength(1);
    const latency = series(AUTHORIZER_METRIC_NAMES.latency, { service: 'authorizer' }).map((options) => options['stat']);
    expect(latency).toEqual(expect.arrayContaining(['p50', 'p99']));
  });

  it('graphs the throttles of all the functions and the token API', () => {
    expect(body.match(/\\"Throttles\\"/g)).toHaveLength(FUNCTION_NAMES.length);
    for (const metric of ['Count', '4xx', '5xx']) expect(body, metric).toContain(`\\"${metric}\\"`);
  });
});

describe('the metrics behind it', () => {
  it('are written by the functions to the namespace the dashboard reads (POWERTOOLS_METRICS_NAMESPACE)', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    const namespaces = functions.map((fn) => fn.Properties?.Environment?.Variables?.['POWERTOOLS_METRICS_NAMESPACE']).filter((value) => value !== undefined);
    expect(namespaces).toHaveLength(FUNCTION_NAMES.length);
    for (const namespace of namespaces) expect(namespace).toBe(NAMESPACE);
  });

  it('come from the functions, not from log metric filters, except the authorizer failures a crash or timeout writes no metric for', () => {
    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter'));
    expect(filters.map((filter) => filter.Properties.MetricTransformations[0].MetricName)).toEqual(['AuthorizerFailures']);
  });

  it('need no permission: no function may call cloudwatch:PutMetricData (EMF lines are read from the log group)', () => {
    expect(JSON.stringify(template.findResources('AWS::IAM::Policy'))).not.toContain('cloudwatch:');
  });
});
