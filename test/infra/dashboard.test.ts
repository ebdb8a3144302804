import { FUNCTION_NAMES } from '../../lib/function-access.ts';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZER_DECISION_TERMS } from '../../lib/auth-alarms.ts';
import { DASHBOARD_WIDGETS } from '../../lib/auth-dashboard.ts';
import { KmsJwtAuthStack } from '../../lib/kms-jwt-auth-stack.ts';
import { SYNTH_TIMEOUT_MS, testApp } from './support.ts';

let template: Template;
let body: string;

beforeAll(() => {
  template = Template.fromStack(new KmsJwtAuthStack(testApp(), 'DashboardAuth'));
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  // The body is a Fn::Join of JSON text and references; its text is enough to read the widgets.
  body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);
}, SYNTH_TIMEOUT_MS);

const filterPatternOf = (metricName: string): string => {
  const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')).filter(
    (filter) => filter.Properties.MetricTransformations[0].MetricName === metricName,
  );
  expect(filters, metricName).toHaveLength(1);
  return String(filters[0]?.Properties.FilterPattern);
};

describe('the dashboard', () => {
  it('has every widget, alarms first', () => {
    const positions = Object.values(DASHBOARD_WIDGETS).map((title) => body.indexOf(title));
    for (const [index, title] of Object.values(DASHBOARD_WIDGETS).entries()) expect(positions[index], title).toBeGreaterThanOrEqual(0);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(body).toContain('"type\\":\\"alarm\\"');
  });

  it('graphs logins, failures, throttled logins, reuse, revocations and logouts everywhere', () => {
    for (const metric of ['Logins', 'LoginFailures', 'LoginsThrottled', 'RefreshTokenReuse', 'Revocations', 'LogoutsEverywhere']) {
      expect(body, metric).toContain(`\\"${metric}\\"`);
    }
  });

  it('graphs the authorizer\'s decisions (allowed, 401, 403, failed) and its duration percentiles', () => {
    for (const metric of ['AuthorizerDeniedInvalidToken', 'AuthorizerDeniedInsufficientScope', 'AuthorizerFailures', 'Invocations', 'Duration']) {
      expect(body, metric).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('invocations - FILL(denied401, 0) - FILL(denied403, 0) - FILL(failures, 0)');
    expect(body).toContain('\\"stat\\":\\"p99\\"');
  });

  it('graphs the throttles of all the functions and the token API', () => {
    expect(body.match(/\\"Throttles\\"/g)).toHaveLength(FUNCTION_NAMES.length);
    for (const metric of ['Count', '4xx', '5xx']) expect(body, metric).toContain(`\\"${metric}\\"`);
  });
});

describe('the counts behind it come from log lines the functions write', () => {
  it('logins, throttled logins, revocations and logouts everywhere by their `event` field', () => {
    expect(filterPatternOf('Logins')).toBe('{ $.event = "login" }');
    expect(filterPatternOf('LoginsThrottled')).toBe('{ ($.event = "request_failed") && ($.status = 429) }');
    expect(filterPatternOf('Revocations')).toBe('{ $.event = "revoke" }');
    expect(filterPatternOf('LogoutsEverywhere')).toBe('{ $.event = "logout_all" }');
  });

  it('authorizer denials by the message and the RFC 6750 error code of the line', () => {
    const pattern401 = filterPatternOf('AuthorizerDeniedInvalidToken');
    const pattern403 = filterPatternOf('AuthorizerDeniedInsufficientScope');
    for (const pattern of [pattern401, pattern403]) expect(pattern).toContain(`"${AUTHORIZER_DECISION_TERMS.denied}"`);
    expect(pattern401).toContain(AUTHORIZER_DECISION_TERMS.invalidToken);
    expect(pattern403).toContain(AUTHORIZER_DECISION_TERMS.insufficientScope);
  });
});
