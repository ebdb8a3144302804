/**
 * Users in control of their sessions: GET /sessions and POST /sessions/revoke behind the Lambda
 * authorizer, over HTTP against the local service (the unchanged handlers, DynamoDB Local, the KMS
 * stand-in).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../cli/operations.ts';
import type { LocalService } from '../../local/service.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply } from '../support/http-client.ts';

const PASSWORD = 'correct horse battery staple';
const OTHER = { username: 'mallory', password: 'a different long passphrase here' };
const SESSION_KEYS = ['client_id', 'created_at', 'current', 'scope', 'sid'];
let service: LocalService;
let counted: CountedService | undefined;

const login = (username = 'demo', password = PASSWORD) => request(service.url, 'POST', '/login', { json: { username, password } });
const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });
const refresh = (token: unknown): Promise<Reply> => request(service.url, 'POST', '/refresh', { json: { refresh_token: token } });
const whoami = (token: unknown) => request(service.url, 'GET', '/whoami', { headers: bearer(token) });
const listSessions = (token: unknown) => request(service.url, 'GET', '/sessions', { headers: bearer(token) });
const endSession = (token: unknown, options: { json?: unknown; raw?: string }) =>
  request(service.url, 'POST', '/sessions/revoke', { headers: { ...bearer(token), 'content-type': 'application/json' }, ...options });
const sessionsOf = (reply: Reply): Record<string, unknown>[] => {
  const sessions = reply.body['sessions'];
  if (!Array.isArray(sessions)) throw new Error(`no sessions in ${JSON.stringify(reply.body)}`);
  return sessions as Record<string, unknown>[];
};
const sidOf = async (token: unknown): Promise<string> => String((await whoami(token)).body['sid']);

beforeAll(async () => {
  counted = await startCountedService({ demoPassword: PASSWORD });
  ({ service } = counted);
  await ops.createUser(service.operatorDeps(), OTHER.username, OTHER.password, ['read']);
});

afterAll(async () => {
  await counted?.stop();
});

describe('GET /sessions', () => {
  it('lists both sessions of a user logged in twice, exactly one marked current, only the documented keys, never stored', async () => {
    await ops.revokeAll(service.operatorDeps(), 'demo');
    const one = (await login()).body;
    const two = (await login()).body;
    const reply = await listSessions(two['access_token']);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(reply.body)).toEqual(['sessions']);
    const sessions = sessionsOf(reply);
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s['current'] === true).map((s) => s['sid'])).toEqual([await sidOf(two['access_token'])]);
    expect(sessions.filter((s) => s['current'] === false).map((s) => s['sid'])).toEqual([await sidOf(one['access_token'])]);
    for (const session of sessions) {
      // Before any refresh there is no last_refreshed_at; nothing else (no fid, hash or key) leaves.
      expect(Object.keys(session).sort()).toEqual(SESSION_KEYS);
      expect(new Date(String(session['created_at'])).toISOString()).toBe(session['created_at']);
      expect(Math.abs(Date.parse(String(session['created_at'])) - Date.now())).toBeLessThan(60_000);
      expect(session['scope']).toEqual(expect.any(String));
      expect(session['client_id']).toEqual(expect.any(String));
    }
    // Another user's list holds none of these sessions.
    const theirs = sessionsOf(await listSessions((await login(OTHER.username, OTHER.password)).body['access_token']));
    expect(theirs.map((s) => s['sid'])).not.toContain(sessions[0]?.['sid']);
  });

  it('a refreshed session shows when it was last refreshed', async () => {
    await ops.revokeAll(service.operatorDeps(), 'demo');
    const first = (await login()).body;
    const next = await refresh(first['refresh_token']);
    expect(next.status).toBe(200);
    const [session, ...rest] = sessionsOf(await listSessions(next.body['access_token']));
    expect(rest).toEqual([]);
    expect(Object.keys(session ?? {}).sort()).toEqual([...SESSION_KEYS, 'last_refreshed_at'].sort());
    expect(Date.parse(String(session?.['last_refreshed_at']))).toBeGreaterThanOrEqual(Date.parse(String(session?.['created_at'])));
    expect(session?.['current']).toBe(true);
  });

  it('without a token the authorizer answers 401 and nothing is listed', async () => {
    const reply = await request(service.url, 'GET', '/sessions');
    expect(reply.status).toBe(401);
    expect(reply.body['sessions']).toBeUndefined();
    expect((await listSessions('not-a-token')).status).toBe(401);
  });
});

describe('POST /sessions/revoke', () => {
  it('ends the other session at once: its access token gets 401 at /whoami, its refresh token 401 at /refresh; the caller keeps working', async () => {
    const other = (await login()).body;
    const mine = (await login()).body;
    expect((await whoami(other['access_token'])).status).toBe(200);
    const otherSid = await sidOf(other['access_token']);
    const reply = await endSession(mine['access_token'], { json: { sid: otherSid } });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('cache-control')).toBe('no-store');
    expect((await whoami(other['access_token'])).status).toBe(401);
    expect((await refresh(other['refresh_token'])).status).toBe(401);
    expect((await whoami(mine['access_token'])).status).toBe(200);
    const listed = sessionsOf(await listSessions(mine['access_token'])).map((s) => s['sid']);
    expect(listed).toContain(await sidOf(mine['access_token']));
    expect(listed).not.toContain(otherSid);
    expect((await refresh(mine['refresh_token'])).status).toBe(200);
  });

  it('ending the current session is allowed, and its token stops at once', async () => {
    const mine = (await login()).body;
    const sid = await sidOf(mine['access_token']);
    expect((await endSession(mine['access_token'], { json: { sid } })).status).toBe(200);
    expect((await whoami(mine['access_token'])).status).toBe(401);
    expect((await refresh(mine['refresh_token'])).status).toBe(401);
  });

  it("another user's sid is 404 not_found and that session lives on", async () => {
    const theirs = (await login(OTHER.username, OTHER.password)).body;
    const mine = (await login()).body;
    const reply = await endSession(mine['access_token'], { json: { sid: await sidOf(theirs['access_token']) } });
    expect(reply.status).toBe(404);
    expect(reply.body['error']).toBe('not_found');
    expect((await whoami(theirs['access_token'])).status).toBe(200);
    expect((await refresh(theirs['refresh_token'])).status).toBe(200);
  });

  it('an unknown sid of the caller is 404, and an already ended one too', async () => {
    const mine = (await login()).body;
    expect((await endSession(mine['access_token'], { json: { sid: 'AAAAAAAAAAAAAAAAAAAAAA' } })).status).toBe(404);
    const other = (await login()).body;
    const sid = await sidOf(other['access_token']);
    expect((await endSession(mine['access_token'], { json: { sid } })).status).toBe(200);
    expect((await endSession(mine['access_token'], { json: { sid } })).status).toBe(404);
  });

  it('missing, malformed or duplicated sid is 400 invalid_request and ends nothing', async () => {
    const mine = (await login()).body;
    const sid = await sidOf(mine['access_token']);
    for (const body of [{ json: {} }, { json: { sid: 42 } }, { json: { sid: '' } }, { json: { sid: 'has space' } }, { json: { sid, extra: 1 } }, { raw: 'not json' }, { raw: `{"sid":"${sid}","sid":"${sid}"}` }]) {
      const reply = await endSession(mine['access_token'], body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body['error']).toBe('invalid_request');
    }
    expect((await whoami(mine['access_token'])).status).toBe(200);
  });

  it('without a token the authorizer answers 401 and nothing ends', async () => {
    const mine = (await login()).body;
    const sid = await sidOf(mine['access_token']);
    const reply = await request(service.url, 'POST', '/sessions/revoke', { json: { sid } });
    expect(reply.status).toBe(401);
    expect((await whoami(mine['access_token'])).status).toBe(200);
  });
});
