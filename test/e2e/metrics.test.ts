/**
 * The metrics the functions write (CloudWatch embedded metric format, EMF) for real requests:
 * the unchanged handlers behind the local gateway, over DynamoDB Local and the KMS stand-in.
 * Captures the EMF lines, then holds each to its metric names, units, dimensions and values, and
 * checks that no line carries a user name, sub, address or token.
 *
 * Metrics are off in dev mode (vitest.config.ts sets POWERTOOLS_DEV) so that other tests print
 * nothing; this file switches them on with `POWERTOOLS_METRICS_DISABLED=false`, which both
 * Powertools Metrics and the authorizer's emitter honour, and then they write through the global
 * `console`, which is captured here (and nothing reaches the reporter).
 */
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createUser, disableUser } from '../../cli/operations.ts';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply, type RequestOptions } from '../support/http-client.ts';
import { AUTHORIZER_METRIC_NAMES, METRIC_NAMES } from '../../lambdas/adapters/aws/metric-names.ts';

const NAMESPACE = 'KmsJwtAuth/MetricsTest';
const PASSWORD = 'metrics-Demo-passw0rd-4b7e1c';
const DISABLED_USER = 'former-employee';
const DISABLED_PASSWORD = 'a former employee password 9d2e';

// ---------------------------------------------------------------------------------------------
// Capture of the EMF lines (the loggers' other lines are dropped: they are not under test here).

interface Directive {
  readonly Namespace: string;
  readonly Dimensions: string[][];
  readonly Metrics: { Name: string; Unit: string }[];
}
interface EmfLine {
  readonly raw: string;
  readonly doc: Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: Directive[] } };
}

const lines: string[] = [];
/** Everything else written through `console.log` (the authorizer's own lines among it). */
const otherOutput: string[] = [];
let emf: EmfLine[] = [];

/** While set, writing a metric line fails (a broken stdout): requests must not notice. */
let failWrites = false;

function capture(...args: unknown[]): void {
  const text = args.map(String).join(' ');
  if (text.includes('"_aws"')) {
    if (failWrites) throw new Error('EPIPE: the metrics line could not be written');
    lines.push(text);
  } else otherOutput.push(text);
}

function emfLines(): EmfLine[] {
  return lines.map((raw) => ({ raw, doc: JSON.parse(raw) as EmfLine['doc'] }));
}

/** Sum of `name` over the lines that publish it under exactly `dimensions` (values as given). */
function sum(name: string, dimensions: Record<string, string>): number {
  let total = 0;
  for (const { doc } of emf) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      if (!directive.Metrics.some((metric) => metric.Name === name)) continue;
      const keys = Object.keys(dimensions).sort().join(',');
      if (!directive.Dimensions.some((set) => [...set].sort().join(',') === keys)) continue;
      if (Object.entries(dimensions).some(([key, value]) => doc[key] !== value)) continue;
      const value = doc[name];
      total += Array.isArray(value) ? value.reduce((a: number, b: unknown) => a + Number(b), 0) : Number(value);
    }
  }
  return total;
}

function unitOf(name: string): string | undefined {
  for (const { doc } of emf) {
    for (const directive of doc._aws.CloudWatchMetrics) {
      const found = directive.Metrics.find((metric) => metric.Name === name);
      if (found !== undefined) return found.Unit;
    }
  }
  return undefined;
}

/** Lines written during `run`, parsed. */
async function during(run: () => Promise<void>): Promise<void> {
  lines.length = 0;
  await run();
  emf = emfLines();
}

// ---------------------------------------------------------------------------------------------

let counted: CountedService | undefined;
let service: LocalService;
let dynamo: CountingProxy;
const secrets = new Set<string>();

async function call(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const reply = await request(service.url, method, path, options);
  for (const field of ['access_token', 'refresh_token', 'device_token']) {
    const value = reply.body[field];
    if (typeof value === 'string') secrets.add(value);
  }
  const access = reply.body['access_token'];
  if (typeof access === 'string') {
    // The claims that name the user and the session.
    const claims = JSON.parse(Buffer.from(access.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    for (const claim of ['sub', 'sid', 'jti']) if (typeof claims[claim] === 'string') secrets.add(claims[claim]);
  }
  return reply;
}
const login = (username: string, password: string) => call('POST', '/login', { json: { username, password } });
const refresh = (token: unknown) => call('POST', '/refresh', { json: { refresh_token: token } });
const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });
const service_ = (name: 'login' | 'refresh' | 'revoke' | 'authorizer') => ({ service: name });

const allLines: string[] = [];

beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', NAMESPACE);
  vi.spyOn(console, 'log').mockImplementation(capture);
  counted = await startCountedService({ demoPassword: PASSWORD });
  ({ service, dynamo } = counted);
  const sub = await createUser(service.operatorDeps(), DISABLED_USER, DISABLED_PASSWORD, ['profile']);
  secrets.add(sub);
  await disableUser(service.operatorDeps(), DISABLED_USER);
});

beforeEach(() => {
  emf = [];
});

afterAll(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await counted?.stop();
});

describe('login metrics', () => {
  it('a successful login counts LoginSucceeded once, a Count in the deployment namespace with the dimension service=login', async () => {
    await during(async () => {
      expect((await login('demo', PASSWORD)).status).toBe(200);
    });
    allLines.push(...lines);
    expect(sum(METRIC_NAMES.loginSucceeded, service_('login'))).toBe(1);
    expect(unitOf(METRIC_NAMES.loginSucceeded)).toBe('Count');
    for (const { doc } of emf) for (const directive of doc._aws.CloudWatchMetrics) expect(directive.Namespace).toBe(NAMESPACE);
    expect(sum(METRIC_NAMES.loginFailed, service_('login'))).toBe(0);
  });

  it('3 wrong passwords count LoginFailed 3 (reason bad_credentials, and in total); an unknown user counts the same', async () => {
    await during(async () => {
      for (let i = 0; i < 3; i++) expect((await login('demo', `wrong-password-${i}-71ac`)).status).toBe(401);
      expect((await login('no-such-user', 'whatever password it is')).status).toBe(401);
    });
    allLines.push(...lines);
    expect(sum(METRIC_NAMES.loginFailed, service_('login'))).toBe(4);
    expect(sum(METRIC_NAMES.loginFailed, { ...service_('login'), reason: 'bad_credentials' })).toBe(4);
    expect(sum(METRIC_NAMES.loginFailed, { ...service_('login'), reason: 'user_disabled' })).toBe(0);
    expect(unitOf(METRIC_NAMES.loginFailed)).toBe('Count');
    expect(sum(METRIC_NAMES.loginSucceeded, service_('login'))).toBe(0);
  });

  it('the right password of a disabled user counts LoginFailed with reason user_disabled (the client sees the same 401)', async () => {
    await during(async () => {
      const reply = await login(DISABLED_USER, DISABLED_PASSWORD);
      expect(reply.status).toBe(401);
      expect(reply.body['error']).toBe('invalid_grant');
    });
    allLines.push(...lines);
    expect(sum(METRIC_NAMES.loginFailed, { ...service_('login'), reason: 'user_disabled' })).toBe(1);
    expect(sum(METRIC_NAMES.loginFailed, service_('login'))).toBe(1);
  });

  it('the attempt over the limit counts LoginThrottled, not LoginFailed', async () => {
    let throttled = 0;
    let failed = 0;
    await during(async () => {
      for (let i = 0; i < 10 && throttled === 0; i++) {
        const status = (await login('throttled-user', `guess-number-${i}-aa`)).status;
        if (status === 429) throttled++;
        else if (status === 401) failed++;
      }
    });
    allLines.push(...lines);
    expect(throttled).toBe(1);
    expect(sum(METRIC_NAMES.loginThrottled, service_('login'))).toBe(1);
    expect(sum(METRIC_NAMES.loginFailed, service_('login'))).toBe(failed);
  });
});

describe('second-factor login metrics', () => {
  it('POST /login/mfa counts like a login: a wrong code is LoginFailed (bad_credentials), the right one LoginSucceeded; the password step alone counts neither', async () => {
    const username = 'metrics-totp-user';
    const password = 'metrics totp user long passphrase';
    secrets.add(await createUser(service.operatorDeps(), username, password, ['profile']));
    const first = await login(username, password);
    const access = first.body['access_token'];
    const enrol = await call('POST', '/mfa/totp/enroll', { headers: bearer(access), json: {} });
    expect(enrol.status).toBe(200);
    const secret = Secret.fromBase32(String(enrol.body['secret']));
    secrets.add(String(enrol.body['secret']));
    const code = (offset: number) => TOTP.generate({ secret, timestamp: Date.now() + offset * 30_000 });
    expect((await call('POST', '/mfa/totp/confirm', { headers: bearer(access), json: { otp: code(-1) } })).status).toBe(200);
    await during(async () => {
      const step1 = await login(username, password);
      expect(step1.status).toBe(401);
      expect(step1.body['error']).toBe('mfa_required');
      const wrong = String((Number(code(0)) + 1) % 1_000_000).padStart(6, '0');
      expect((await call('POST', '/login/mfa', { json: { mfa_token: step1.body['mfa_token'], otp: wrong } })).status).toBe(401);
      expect((await call('POST', '/login/mfa', { json: { mfa_token: step1.body['mfa_token'], otp: code(0) } })).status).toBe(200);
    });
    allLines.push(...lines);
    expect(sum(METRIC_NAMES.loginFailed, { ...service_('login'), reason: 'bad_credentials' })).toBe(1);
    expect(sum(METRIC_NAMES.loginSucceeded, service_('login'))).toBe(1);
  });
});

describe('refresh metrics', () => {
  it('a rotation counts RefreshSucceeded; the same token again within the grace period counts RefreshGraceRetry', async () => {
    const session = await login('demo', PASSWORD);
    await during(async () => {
      expect((await refresh(session.body['refresh_token'])).status).toBe(200);
      expect((await refresh(session.body['refresh_token'])).status).toBe(200);
    });
    allLines.push(...lines);
    expect(sum(METRIC_NAMES.refreshSucceeded, service_('refresh'))).toBe(1);
    expect(sum(METRIC_NAMES.refreshGraceRetry, service_('refresh'))).toBe(1);
  });

  it('a token superseded twice counts RefreshReuseDetected (and not RefreshInvalid); a forged one counts RefreshInvalid', async () => {
    const session = await login('demo', PASSWORD);
    const second = await refresh(session.body['refresh_token']);
    const third = await refresh(second.body['refresh_token']);
    expect(third.status).toBe(200);
    await during(async () => {
      expect((await refresh(session.body['refresh_token'])).status).toBe(401);
      expect((await refresh('not-a-refresh-token')).status).toBe(401);
    });
    allLines.push(...lines);
    expect(sum(METRIC_NAMES.refreshReuseDetected, service_('refresh'))).toBe(1);
    expect(sum(METRIC_NAMES.refreshInvalid, service_('refresh'))).toBe(1);
    expect(sum(METRIC_NAMES.refreshSucceeded, service_('refresh'))).toBe(0);
  });
});

describe('revocation metrics', () => {
  it('counts Revocation by kind: a session, an access token, one own session, logout everywhere; a token that revokes nothing is not counted', async () => {
    const a = await login('demo', PASSWORD);
    const b = await login('demo', PASSWORD);
    const c = await login('demo', PASSWORD);
    await during(async () => {
      expect((await call('POST', '/revoke', { json: { token: a.body['refresh_token'] } })).status).toBe(200);
      expect((await call('POST', '/revoke', { json: { token: b.body['access_token'] } })).status).toBe(200);
      expect((await call('POST', '/revoke', { json: { token: 'nothing-to-revoke' } })).status).toBe(200);
      const sessions = await call('GET', '/sessions', { headers: bearer(c.body['access_token']) });
      const own = (sessions.body['sessions'] as { sid: string; current: boolean }[]).find((session) => !session.current);
      expect((await call('POST', '/sessions/revoke', { json: { sid: own?.sid }, headers: bearer(c.body['access_token']) })).status).toBe(200);
      expect((await call('POST', '/logout-all', { headers: bearer(c.body['access_token']) })).status).toBe(200);
    });
    allLines.push(...lines);
    const revoke = service_('revoke');
    expect(sum(METRIC_NAMES.revocation, revoke)).toBe(4);
    for (const kind of ['session', 'access_token', 'own_session', 'logout_all']) {
      expect(sum(METRIC_NAMES.revocation, { ...revoke, kind }), kind).toBe(1);
    }
  });
});

describe('authorizer metrics', () => {
  it('counts each decision (allow, 401, 403) with its latency in milliseconds', async () => {
    const session = await login('demo', PASSWORD);
    await during(async () => {
      expect((await call('GET', '/whoami', { headers: bearer(session.body['access_token']) })).status).toBe(200);
      expect((await call('GET', '/whoami', { headers: bearer(session.body['access_token']) })).status).toBe(200);
      expect((await call('GET', '/admin', { headers: bearer(session.body['access_token']) })).status).toBe(403);
      // (No Authorization header at all is answered by the gateway itself, as API Gateway does:
      // the authorizer is not invoked, so nothing is counted.)
      expect((await call('GET', '/whoami')).status).toBe(401);
      expect((await call('GET', '/whoami', { headers: bearer('forged.token.value') })).status).toBe(401);
      expect((await call('GET', '/whoami', { headers: bearer(`${String(session.body['access_token'])}x`) })).status).toBe(401);
    });
    allLines.push(...lines);
    const authorizer = service_('authorizer');
    expect(sum(AUTHORIZER_METRIC_NAMES.allow, authorizer)).toBe(2);
    expect(sum(AUTHORIZER_METRIC_NAMES.deny_403, authorizer)).toBe(1);
    expect(sum(AUTHORIZER_METRIC_NAMES.deny_401, authorizer)).toBe(2);
    expect(sum(AUTHORIZER_METRIC_NAMES.unavailable_503, authorizer)).toBe(0);
    expect(unitOf(AUTHORIZER_METRIC_NAMES.allow)).toBe('Count');
    expect(unitOf(AUTHORIZER_METRIC_NAMES.latency)).toBe('Milliseconds');
    const latencies = emf.map(({ doc }) => doc[AUTHORIZER_METRIC_NAMES.latency]).filter((value) => value !== undefined);
    expect(latencies).toHaveLength(5);
    for (const latency of latencies) {
      expect(typeof latency).toBe('number');
      expect(latency as number).toBeGreaterThanOrEqual(0);
      expect(latency as number).toBeLessThan(10_000);
    }
    // One line per decision, each a valid EMF document of one directive.
    for (const { doc } of emf) {
      expect(doc._aws.CloudWatchMetrics).toHaveLength(1);
      expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
      expect(Math.abs(doc._aws.Timestamp - Date.now())).toBeLessThan(60_000);
    }
  });

  it('with DynamoDB down, the decision counts AuthorizerUnavailable503', async () => {
    const session = await login('demo', PASSWORD);
    await during(async () => {
      dynamo.failWith({ status: 500, type: 'InternalServerError' });
      try {
        expect((await call('GET', '/whoami', { headers: bearer(session.body['access_token']) })).status).toBe(500);
      } finally {
        dynamo.failWith(undefined);
      }
    });
    allLines.push(...lines);
    expect(sum(AUTHORIZER_METRIC_NAMES.unavailable_503, service_('authorizer'))).toBe(1);
    expect(sum(AUTHORIZER_METRIC_NAMES.allow, service_('authorizer'))).toBe(0);
  });
});

describe('a metric that cannot be written', () => {
  it('never fails the request: login, refresh, revocation and the authorizer answer as usual, and the failure is logged', async () => {
    failWrites = true;
    otherOutput.length = 0;
    try {
      const session = await login('demo', PASSWORD);
      expect(session.status).toBe(200);
      expect((await login('demo', 'a wrong password, once')).status).toBe(401);
      const next = await refresh(session.body['refresh_token']);
      expect(next.status).toBe(200);
      expect((await call('GET', '/whoami', { headers: bearer(next.body['access_token']) })).status).toBe(200);
      expect((await call('POST', '/revoke', { json: { token: next.body['refresh_token'] } })).status).toBe(200);
    } finally {
      failWrites = false;
    }
    expect(otherOutput.some((line) => line.includes('authorizer metrics could not be written'))).toBe(true);
  });
});

describe('what the metrics never carry', () => {
  it('no EMF line names a user, a sub, an address or a token, and the only dimensions are service, reason and kind', () => {
    expect(allLines.length).toBeGreaterThan(20);
    const forbidden = ['demo', DISABLED_USER, 'throttled-user', 'no-such-user', '127.0.0.1', '::1', ...secrets];
    for (const line of allLines) {
      for (const value of forbidden) expect(line.includes(value), `${value} in ${line}`).toBe(false);
      const doc = JSON.parse(line) as EmfLine['doc'];
      for (const directive of doc._aws.CloudWatchMetrics) {
        for (const set of directive.Dimensions) for (const key of set) expect(['service', 'reason', 'kind']).toContain(key);
      }
      // Top-level members are the dimension values and the metric values, nothing else.
      const declared = new Set(doc._aws.CloudWatchMetrics.flatMap((directive) => [...directive.Dimensions.flat(), ...directive.Metrics.map((metric) => metric.Name)]));
      for (const key of Object.keys(doc)) if (key !== '_aws') expect(declared.has(key), key).toBe(true);
    }
  });
});
