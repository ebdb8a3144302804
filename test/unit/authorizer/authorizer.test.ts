import { describe, expect, it } from 'vitest';
import { toResponse } from '../../../lambdas/authorizer/authorizer-handler.ts';
import { generateTestKey, validToken, NOW } from '../verifier/token-factory.ts';
import { event, makeHarness } from './harness.ts';
import { AUTHORIZER_DECISION_TERMS, AUTHORIZER_FAILURE_TERMS } from '../../../lib/auth-alarms.ts';

const es = generateTestKey('ES256');
const rsa = generateTestKey('RS256');

describe('HTTP API payload 2.0', () => {
  it('allows a valid token on /whoami and passes sub, scope, sid, jti, client_id, amr and auth_time', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(event('http-v2-request-whoami', `Bearer ${validToken(es, { amr: ['pwd', 'otp', 'mfa'] })}`));
    expect(evaluation.decision).toEqual({
      effect: 'allow',
      context: { sub: 'u1', scope: 'openid profile', sid: 'sid-1', jti: 'jti-1', client_id: 'mobile', amr: 'pwd otp mfa', auth_time: String(NOW - 100) },
    });
    expect(toResponse(evaluation, 'simple')).toEqual({ isAuthorized: true, context: evaluation.decision.effect === 'allow' ? evaluation.decision.context : {} });
  });

  it('answers 403 insufficient_scope on /admin for a token without the admin scope', async () => {
    const { authorizer } = makeHarness([es]);
    const decision = await authorizer.decide(event('http-v2-request-admin', `Bearer ${validToken(es)}`));
    expect(decision).toMatchObject({ effect: 'deny', status: 403, error: 'insufficient_scope' });
  });

  it('conveys 403 in simple mode as isAuthorized false, which API Gateway turns into 403', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(event('http-v2-request-admin', `Bearer ${validToken(es)}`));
    expect(toResponse(evaluation, 'simple')).toMatchObject({ isAuthorized: false });
  });

  it('allows /admin for a token that holds the admin scope', async () => {
    const { authorizer } = makeHarness([es]);
    const decision = await authorizer.decide(event('http-v2-request-admin', `Bearer ${validToken(es, { scope: 'openid admin' })}`));
    expect(decision.effect).toBe('allow');
  });

  it('conveys 401 by throwing Unauthorized, which API Gateway turns into 401', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(event('http-v2-request-whoami', 'Bearer not.a.token'));
    expect(evaluation.decision).toMatchObject({ effect: 'deny', status: 401, error: 'invalid_token' });
    expect(() => toResponse(evaluation, 'simple')).toThrow(/^Unauthorized$/);
  });

  it('answers 401 when the Authorization header is missing', async () => {
    const { authorizer } = makeHarness([es]);
    expect(await authorizer.decide(event('http-v2-request-whoami', undefined))).toMatchObject({ status: 401 });
  });

  it('answers 401 when the scheme is not Bearer', async () => {
    const { authorizer } = makeHarness([es]);
    expect(await authorizer.decide(event('http-v2-request-whoami', `Basic ${validToken(es)}`))).toMatchObject({ status: 401 });
  });

  it('accepts the Bearer scheme in any case (RFC 9110 §11.1)', async () => {
    const { authorizer } = makeHarness([es]);
    expect((await authorizer.decide(event('http-v2-request-whoami', `bEaReR ${validToken(es)}`))).effect).toBe('allow');
  });

  it('answers with an IAM policy when configured for IAM responses', async () => {
    const { authorizer } = makeHarness([es], { responseMode: 'iam' });
    const evaluation = await authorizer.evaluate(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    const response = toResponse(evaluation, 'iam');
    expect(response).toMatchObject({ principalId: 'u1', context: { sub: 'u1' } });
  });
});

describe('REST API events', () => {
  it('answers a TOKEN event for /admin without the scope with a policy that denies /admin', async () => {
    const { authorizer } = makeHarness([es]);
    const evaluation = await authorizer.evaluate(event('rest-token', `Bearer ${validToken(es)}`));
    expect(evaluation.decision).toMatchObject({ status: 403 });
    expect(toResponse(evaluation, 'simple')).toEqual({
      principalId: 'u1',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: ['arn:aws:execute-api:eu-west-1:123456789012:r4n8vb2c1e/prod/*'] },
          {
            Action: 'execute-api:Invoke',
            Effect: 'Deny',
            Resource: [
              'arn:aws:execute-api:eu-west-1:123456789012:r4n8vb2c1e/prod/GET/admin',
              'arn:aws:execute-api:eu-west-1:123456789012:r4n8vb2c1e/prod/GET/admin/',
            ],
          },
        ],
      },
      context: { sub: 'u1', scope: 'openid profile', sid: 'sid-1', jti: 'jti-1', client_id: 'mobile', amr: '', auth_time: String(NOW - 100) },
    });
  });

  it('answers a REQUEST event with a single wildcard Allow when no rule applies to the token', async () => {
    const { authorizer } = makeHarness([rsa]);
    const evaluation = await authorizer.evaluate(event('rest-request-whoami', `Bearer ${validToken(rsa, { scope: 'admin' })}`));
    expect(toResponse(evaluation, 'simple')).toMatchObject({
      policyDocument: { Statement: [{ Effect: 'Allow', Resource: ['arn:aws:execute-api:eu-west-1:123456789012:r4n8vb2c1e/prod/*'] }] },
    });
  });

  it('refuses a REQUEST event that carries two Authorization values', async () => {
    const { authorizer } = makeHarness([es]);
    const e = event('rest-request-whoami', `Bearer ${validToken(es)}`);
    (e.multiValueHeaders as Record<string, unknown>).Authorization = [`Bearer ${validToken(es)}`, 'Bearer x'];
    expect(await authorizer.decide(e)).toMatchObject({ status: 401 });
  });

  it('throws Unauthorized for a TOKEN event with a forged token', async () => {
    const { authorizer } = makeHarness([es]);
    const other = generateTestKey('ES256');
    const forged = validToken({ ...other, kid: es.kid });
    const evaluation = await authorizer.evaluate(event('rest-token', `Bearer ${forged}`));
    expect(() => toResponse(evaluation, 'iam')).toThrow(/^Unauthorized$/);
  });
});

describe('denylist', () => {
  it('answers 401 for a token whose jti is denied', async () => {
    const h = makeHarness([es]);
    h.denylist.revoke('u1', { kind: 'token', jti: 'jti-1', until: NOW + 900 });
    expect(await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`))).toMatchObject({ status: 401, description: 'token revoked' });
  });

  it('answers 401 for a token whose session is revoked', async () => {
    const h = makeHarness([es]);
    h.denylist.revoke('u1', { kind: 'session', sid: 'sid-1', until: NOW + 900 });
    expect(await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`))).toMatchObject({ status: 401, description: 'session revoked' });
  });

  it('answers 401 for a token issued before its user logged out everywhere', async () => {
    const h = makeHarness([es]);
    h.denylist.revoke('u1', { kind: 'user', atSeconds: NOW - 100, atMs: (NOW - 100) * 1000, until: NOW + 900, reason: 'logout_all' });
    expect(await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`))).toMatchObject({ status: 401 });
  });

  it('allows a token from a session that started after the logout-everywhere', async () => {
    const h = makeHarness([es]);
    h.denylist.revoke('u1', { kind: 'user', atSeconds: NOW - 101, atMs: (NOW - 101) * 1000, until: NOW + 900, reason: 'logout_all' });
    expect((await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`))).effect).toBe('allow');
  });

  it('treats a revocation entry whose until has passed as absent', async () => {
    const h = makeHarness([es]);
    h.denylist.revoke('u1', { kind: 'session', sid: 'sid-1', until: NOW });
    expect((await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`))).effect).toBe('allow');
  });

  it('treats a garbled revocation item as revoking', async () => {
    const h = makeHarness([es]);
    h.denylist.states.set('u1', 'unreadable');
    expect(await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`))).toMatchObject({ status: 401 });
  });

  it('judges the token and its revocation entry at one instant, even when the denylist read straddles exp', async () => {
    const h = makeHarness([es]);
    // A revoked token whose entry lives exactly until the token's exp (CLOCK_SKEW_SECONDS=0).
    h.denylist.revoke('u1', { kind: 'token', jti: 'jti-1', until: NOW + 5 });
    const read = h.denylist.read.bind(h.denylist);
    h.denylist.read = async (sub) => {
      h.clock.now = NOW + 6; // the read was slow: the clock has passed both exp and the entry
      return read(sub);
    };
    const decision = await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es, { exp: NOW + 5 })}`));
    expect(decision).toMatchObject({ effect: 'deny', status: 401 });
  });

  it('fails closed with 503 when the denylist is unreachable, and the handler throws a non-401 error', async () => {
    const h = makeHarness([es]);
    h.denylist.failWith();
    const evaluation = await h.authorizer.evaluate(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    expect(evaluation.decision).toMatchObject({ effect: 'deny', status: 503, error: 'temporarily_unavailable' });
    expect(() => toResponse(evaluation, 'simple')).toThrow('AuthorizerDependencyUnavailable');
    // The stack's failure alarm counts this line by its text (lib/auth-alarms.ts).
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', msg: AUTHORIZER_FAILURE_TERMS[0] }));
  });

  it('logs an unexpected error as the internal error the failure alarm counts, and answers 401', async () => {
    const h = makeHarness([es]);
    h.denylist.failWith(new TypeError('a bug'));
    const evaluation = await h.authorizer.evaluate(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    expect(evaluation.decision).toMatchObject({ effect: 'deny', status: 401 });
    expect(h.logs).toContainEqual(expect.objectContaining({ level: 'ERROR', msg: AUTHORIZER_FAILURE_TERMS[1] }));
  });

  it('logs nothing the failure alarm counts for a bad token', async () => {
    const h = makeHarness([es]);
    await h.authorizer.evaluate(event('http-v2-request-whoami', 'Bearer not-a-token'));
    const text = JSON.stringify(h.logs);
    for (const term of AUTHORIZER_FAILURE_TERMS) expect(text).not.toContain(term);
    expect(h.logs.length).toBeGreaterThan(0);
  });

  it('names the RFC 6750 error in each denial line, which the decision metrics count', async () => {
    const h = makeHarness([es]);
    await h.authorizer.evaluate(event('http-v2-request-whoami', 'Bearer not-a-token'));
    await h.authorizer.evaluate(event('http-v2-request-admin', `Bearer ${validToken(es)}`));
    const denials = h.logs.filter((line) => line['msg'] === AUTHORIZER_DECISION_TERMS.denied);
    expect(denials).toEqual([
      expect.objectContaining({ status: 401, error: AUTHORIZER_DECISION_TERMS.invalidToken }),
      expect.objectContaining({ status: 403, error: AUTHORIZER_DECISION_TERMS.insufficientScope }),
    ]);
  });

  it('reads the denylist once per request and never for a token that fails verification', async () => {
    const h = makeHarness([es]);
    await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    await h.authorizer.decide(event('http-v2-request-whoami', 'Bearer a.b.c'));
    expect(h.denylist.reads).toBe(1);
  });
});

describe('keys', () => {
  it('loads keys once and makes no key-source call on the warm path', async () => {
    const h = makeHarness([es]);
    for (let i = 0; i < 5; i++) await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    expect(h.source.loads).toBe(1);
  });

  it('reloads keys for an unknown kid, so a newly added key works without a restart', async () => {
    const h = makeHarness([es]);
    await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    h.source.keys = [es, rsa];
    h.clock.ms += 61_000;
    expect((await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(rsa)}`))).effect).toBe('allow');
    expect(h.source.loads).toBe(2);
  });

  it('reloads at most once per cooldown however many forged kids arrive', async () => {
    const h = makeHarness([es]);
    await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    h.clock.ms += 61_000;
    for (let i = 0; i < 50; i++) {
      const attacker = generateTestKey('ES256');
      expect(await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(attacker)}`))).toMatchObject({ status: 401 });
    }
    expect(h.source.loads).toBe(2);
  });

  it('answers 503 while the key source is down, then recovers after the backoff', async () => {
    const h = makeHarness([es]);
    const original = h.source.load.bind(h.source);
    let down = true;
    h.source.load = () => (down ? (h.source.loads++, Promise.reject(new (class extends Error {})('down'))) : original());
    const first = await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`));
    expect(first).toMatchObject({ effect: 'deny' });
    down = false;
    h.clock.ms += 2000;
    expect((await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${validToken(es)}`))).effect).toBe('allow');
  });
});

describe('logging', () => {
  it('never logs the token', async () => {
    const h = makeHarness([es]);
    const token = validToken(es, { exp: NOW - 1 });
    await h.authorizer.decide(event('http-v2-request-whoami', `Bearer ${token}`));
    const text = JSON.stringify(h.logs);
    expect(h.logs.length).toBeGreaterThan(0);
    expect(text).not.toContain(token.split('.')[2]);
    expect(text).not.toContain(token.split('.')[1]);
  });
});
