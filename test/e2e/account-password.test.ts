/**
 * POST /account/password over HTTP against the local service (the unchanged handlers behind the
 * authorizer, DynamoDB Local through a counting proxy that can fail requests, the KMS stand-in).
 * A user changes their own password: the current one is required and throttled like a login, the
 * new one meets the NIST rules, every other session ends at once, this one keeps working.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as ops from '../../cli/operations.ts';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply } from '../support/http-client.ts';
import { expectWithinGrants, grantedActions, observeActions } from '../support/iam-grants.ts';
import { startLogCapture, type LogCapture } from '../support/log-capture.ts';

let counted: CountedService | undefined;
let service: LocalService;
let dynamo: CountingProxy;
let logs: LogCapture;
/** Every password and token this file sends or receives, for the log check at the end. */
const secrets = new Set<string>();

interface Session {
  readonly access: string;
  readonly refresh: string;
}

const post = (path: string, token: string | undefined, json: unknown): Promise<Reply> =>
  request(service.url, 'POST', path, { json, ...(token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } }) });
const loginReply = (username: string, password: string): Promise<Reply> => {
  secrets.add(password);
  return post('/login', undefined, { username, password });
};
async function signIn(username: string, password: string): Promise<Session> {
  const reply = await loginReply(username, password);
  expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  const session = { access: String(reply.body['access_token']), refresh: String(reply.body['refresh_token']) };
  secrets.add(session.access);
  secrets.add(session.refresh);
  return session;
}
const whoami = (token: string) => request(service.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${token}` } });
async function refresh(token: string): Promise<Reply> {
  const reply = await post('/refresh', undefined, { refresh_token: token });
  for (const name of ['access_token', 'refresh_token']) if (typeof reply.body[name] === 'string') secrets.add(reply.body[name]);
  return reply;
}
const changePassword = (token: string, currentPassword: string, newPassword: string): Promise<Reply> => {
  secrets.add(currentPassword);
  secrets.add(newPassword);
  return post('/account/password', token, { current_password: currentPassword, new_password: newPassword });
};

/** A fresh user (own throttle counters) with `sessions` signed-in sessions. */
async function userWithSessions(username: string, password: string, sessions: number): Promise<Session[]> {
  await ops.createUser(service.operatorDeps(), username, password, ['read']);
  const out: Session[] = [];
  for (let i = 0; i < sessions; i++) out.push(await signIn(username, password));
  return out;
}

beforeAll(async () => {
  vi.stubEnv('POWERTOOLS_DEV', 'false');
  logs = startLogCapture();
  counted = await startCountedService({ demoPassword: 'correct horse battery staple' });
  ({ service, dynamo } = counted);
});

afterAll(async () => {
  logs?.stop();
  vi.unstubAllEnvs();
  await counted?.stop();
});

describe('POST /account/password', () => {
  it('changes the password: the other sessions end at once (access and refresh), this one keeps working', async () => {
    const [mine, other, third] = await userWithSessions('anna', 'anna first long passphrase', 3);
    if (mine === undefined || other === undefined || third === undefined) throw new Error('three sessions');
    const reply = await changePassword(mine.access, 'anna first long passphrase', 'anna second long passphrase');
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body).toEqual({ sessions_ended: 2 });
    expect(reply.headers.get('cache-control')).toBe('no-store');

    // The other sessions: access tokens refused at the authorizer now, refresh tokens refused.
    for (const session of [other, third]) {
      expect((await whoami(session.access)).status).toBe(401);
      expect((await refresh(session.refresh)).status).toBe(401);
    }
    // This session: its access token and its refresh token keep working.
    expect((await whoami(mine.access)).status).toBe(200);
    const refreshed = await refresh(mine.refresh);
    expect(refreshed.status).toBe(200);
    expect((await whoami(String(refreshed.body['access_token']))).status).toBe(200);

    // The old password no longer signs in; the new one does.
    expect((await loginReply('anna', 'anna first long passphrase')).status).toBe(401);
    expect((await loginReply('anna', 'anna second long passphrase')).status).toBe(200);
  });

  it('refuses a wrong current password with 400 invalid_grant, and changes nothing', async () => {
    const [mine, other] = await userWithSessions('boris', 'boris first long passphrase', 2);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    const reply = await changePassword(mine.access, 'boris WRONG long passphrase', 'boris second long passphrase');
    expect(reply.status).toBe(400);
    expect(reply.body['error']).toBe('invalid_grant');
    expect(JSON.stringify(reply.body)).not.toMatch(/passphrase/);
    expect((await whoami(other.access)).status).toBe(200);
    expect((await whoami(mine.access)).status).toBe(200);
    expect((await loginReply('boris', 'boris second long passphrase')).status).toBe(401);
    expect((await loginReply('boris', 'boris first long passphrase')).status).toBe(200);
  });

  it.each([
    ['too short', 'carla1', 'short pass 1', /too short: use at least 15 characters/],
    ['common', 'carla2', 'qwerty123456789', /commonly used or breached/],
    ['derived from the username', 'carla3', 'carla32024carla32024', /derived from the username/],
    ["derived from the service's name", 'carla4', 'kms-jwt-auth-2024!', /derived from the service's name/],
    ['too long', 'carla5', 'x'.repeat(257), /too long/],
  ])('refuses a new password that is %s: 400 invalid_request naming the rule, never echoing it, nothing changed', async (_rule, username, weak, expected) => {
    const [mine, other] = await userWithSessions(username, 'carla first long passphrase', 2);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    const reply = await changePassword(mine.access, 'carla first long passphrase', weak);
    expect(reply.status).toBe(400);
    expect(reply.body['error']).toBe('invalid_request');
    expect(String(reply.body['error_description'])).toMatch(expected);
    expect(JSON.stringify(reply.body)).not.toContain(weak);
    expect(JSON.stringify(reply.body)).not.toContain('carla first');
    expect((await whoami(other.access)).status).toBe(200);
    expect((await loginReply(username, 'carla first long passphrase')).status).toBe(200);
  });

  it('counts wrong current passwords on the login throttle: 429 with Retry-After, and /login is locked out alike', async () => {
    const [mine] = await userWithSessions('dmitri', 'dmitri first long passphrase', 1);
    if (mine === undefined) throw new Error('one session');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await changePassword(mine.access, `dmitri guess number ${i} long`, 'dmitri second long passphrase')).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429]);
    const refused = await changePassword(mine.access, 'dmitri first long passphrase', 'dmitri second long passphrase');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same allowance as login: this route is not a faster way to guess.
    expect((await loginReply('dmitri', 'dmitri first long passphrase')).status).toBe(429);
  });

  it('a burst of concurrent wrong guesses is counted in full: at most 5 are checked', async () => {
    const [mine] = await userWithSessions('elena', 'elena first long passphrase', 1);
    if (mine === undefined) throw new Error('one session');
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => changePassword(mine.access, `elena guess number ${i} long`, 'elena second long passphrase')),
    );
    const statuses = replies.map((reply) => reply.status);
    expect(statuses.filter((status) => status === 400).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(7);
  });

  it('two concurrent changes from two sessions: one wins (200), the other gets 409 and changes nothing', async () => {
    const [a, b] = await userWithSessions('felix', 'felix first long passphrase', 2);
    if (a === undefined || b === undefined) throw new Error('two sessions');
    const [ra, rb] = await Promise.all([
      changePassword(a.access, 'felix first long passphrase', 'felix new passphrase AAA'),
      changePassword(b.access, 'felix first long passphrase', 'felix new passphrase BBB'),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const [winner, loser, winnerPassword, loserPassword] =
      ra.status === 200 ? [a, b, 'felix new passphrase AAA', 'felix new passphrase BBB'] : [b, a, 'felix new passphrase BBB', 'felix new passphrase AAA'];
    expect((ra.status === 409 ? ra : rb).body['error']).toBe('conflict');
    expect((await loginReply('felix', winnerPassword)).status).toBe(200);
    expect((await loginReply('felix', loserPassword)).status).toBe(401);
    // The winner's session is kept; the loser's was one of the "other" sessions the winner ended.
    expect((await whoami(winner.access)).status).toBe(200);
    expect((await whoami(loser.access)).status).toBe(401);
  });

  it('refuses a token whose session has ended, and malformed bodies, changing nothing', async () => {
    const [mine, other] = await userWithSessions('gwen', 'gwen first long passphrase', 2);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    expect((await post('/account/password', undefined, { current_password: 'gwen first long passphrase', new_password: 'gwen second long passphrase' })).status).toBe(401);
    for (const body of [{}, { current_password: 'gwen first long passphrase' }, { current_password: 1, new_password: 'gwen second long passphrase' }, {
      current_password: 'gwen first long passphrase',
      new_password: 'gwen second long passphrase',
      sid: 'x',
    }]) {
      const reply = await post('/account/password', mine.access, body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body['error']).toBe('invalid_request');
    }
    await ops.revokeSession(service.operatorDeps(), 'gwen', await sidOf(mine.access));
    expect((await changePassword(mine.access, 'gwen first long passphrase', 'gwen second long passphrase')).status).toBe(401);
    expect((await whoami(other.access)).status).toBe(200);
    expect((await loginReply('gwen', 'gwen first long passphrase')).status).toBe(200);
  });

  it('a DynamoDB fault while ending the other sessions is a 503; the same request again finishes the job', async () => {
    const [mine, other, third] = await userWithSessions('hugo', 'hugo first long passphrase', 3);
    if (mine === undefined || other === undefined || third === undefined) throw new Error('three sessions');
    // Let the first session's revocation write through, fail the second's (the SDK tries twice).
    dynamo.failOperation({ operation: 'PutItem', skip: 1, times: 2 });
    const failed = await changePassword(mine.access, 'hugo first long passphrase', 'hugo second long passphrase');
    dynamo.failOperation(undefined);
    expect(failed.status).toBe(503);
    expect(failed.body['error']).toBe('temporarily_unavailable');
    // The client retries the very same request: recognised as the retry of a change already made.
    const retried = await changePassword(mine.access, 'hugo first long passphrase', 'hugo second long passphrase');
    expect(retried.status, JSON.stringify(retried.body)).toBe(200);
    for (const session of [other, third]) {
      expect((await whoami(session.access)).status).toBe(401);
      expect((await refresh(session.refresh)).status).toBe(401);
    }
    expect((await whoami(mine.access)).status).toBe(200);
    expect((await loginReply('hugo', 'hugo second long passphrase')).status).toBe(200);
  });

  it('uses only what the account function is granted (lib/function-access.ts)', async () => {
    const [mine] = await userWithSessions('iris', 'iris first long passphrase', 2);
    if (mine === undefined) throw new Error('two sessions');
    const seen = await observeActions(dynamo, service.kms, async () => {
      expect((await changePassword(mine.access, 'iris WRONG long passphrase', 'iris second long passphrase')).status).toBe(400);
      expect((await changePassword(mine.access, 'iris first long passphrase', 'iris second long passphrase')).status).toBe(200);
    });
    expectWithinGrants({ dynamo: new Set([...seen.dynamo]), kms: seen.kms }, grantedActions('account'));
  });

  it('the CLI set-password ends every session at once', async () => {
    const [a, b] = await userWithSessions('jonas', 'jonas first long passphrase', 2);
    if (a === undefined || b === undefined) throw new Error('two sessions');
    expect(await ops.setPassword(service.operatorDeps(), 'jonas', 'jonas second long passphrase')).toBe(2);
    for (const session of [a, b]) {
      expect((await whoami(session.access)).status).toBe(401);
      expect((await refresh(session.refresh)).status).toBe(401);
    }
    expect((await loginReply('jonas', 'jonas first long passphrase')).status).toBe(401);
    expect((await loginReply('jonas', 'jonas second long passphrase')).status).toBe(200);
  });

  it('writes one password_changed audit line per change, with sub, sid and the count, and no password or token in any line', () => {
    const events = logs.auditEvents().filter((event) => event['audit'] === 'password_changed');
    expect(events.length).toBeGreaterThanOrEqual(4);
    for (const event of events) {
      expect(typeof event['sub']).toBe('string');
      expect(typeof event['sid']).toBe('string');
      expect(typeof event['sessions_ended']).toBe('number');
    }
    const lines = logs.lines();
    for (const secret of secrets) for (const line of lines) expect(line.includes(secret), `a log line contains a secret (${secret.slice(0, 6)}…)`).toBe(false);
  });
});

describe('POST /sessions/revoke', () => {
  it('writes a session_ended audit line: who asked (sub, sid), which session ended, whether it was the current one; no token', async () => {
    const [mine, other] = await userWithSessions('kira', 'kira first long passphrase', 2);
    if (mine === undefined || other === undefined) throw new Error('two sessions');
    const [mySid, otherSid] = [await sidOf(mine.access), await sidOf(other.access)];
    const before = logs.auditEvents().filter((event) => event['audit'] === 'session_ended').length;
    expect((await post('/sessions/revoke', mine.access, { sid: otherSid })).status).toBe(200);
    const events = logs.auditEvents().filter((event) => event['audit'] === 'session_ended');
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ sid: mySid, ended_sid: otherSid, current: false, sub: expect.any(String) });
    for (const line of logs.lines()) expect(line.includes(mine.access) || line.includes(other.refresh)).toBe(false);
  });
});

async function sidOf(accessToken: string): Promise<string> {
  const payload: unknown = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8'));
  const sid = typeof payload === 'object' && payload !== null && 'sid' in payload ? payload.sid : undefined;
  if (typeof sid !== 'string') throw new Error('no sid');
  return Promise.resolve(sid);
}
