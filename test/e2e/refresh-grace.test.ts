/**
 * Retries and races within the refresh grace period, and tampered tokens, over HTTP against the
 * local service (the unchanged handlers, DynamoDB Local, the KMS stand-in), with real concurrent
 * requests and the calls each refresh makes counted. The grace period is set short (5 s) so the
 * test can also wait it out.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request, type Reply } from '../support/http-client.ts';

const PASSWORD = 'correct horse battery staple';
const GRACE_SECONDS = 5;
let service: LocalService;
let dynamo: CountingProxy;
let counted: CountedService | undefined;

const login = () => request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
const refresh = (token: unknown): Promise<Reply> => request(service.url, 'POST', '/refresh', { json: { refresh_token: token } });
const whoami = (token: unknown) => request(service.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${String(token)}` } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The token with the character at `index` replaced by another of the base64url alphabet. */
const withCharChanged = (token: string, index: number) => `${token.slice(0, index)}${token[index] === 'A' ? 'B' : 'A'}${token.slice(index + 1)}`;

beforeAll(async () => {
  counted = await startCountedService({ demoPassword: PASSWORD, env: { REFRESH_GRACE_SECONDS: String(GRACE_SECONDS) } });
  ({ service, dynamo } = counted);
});

afterAll(async () => {
  await counted?.stop();
});

beforeEach(() => {
  dynamo.reset();
  service.kms.resetCalls();
});

describe('retries and races within the grace period', () => {
  it('twenty concurrent refreshes of one token all succeed with the same successor, and the family moves one generation', async () => {
    const first = (await login()).body;
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(first['refresh_token'])));
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
    const successors = new Set(results.map((r) => r.body['refresh_token']));
    expect(successors.size).toBe(1);
    const [successor] = [...successors];
    expect(successor).not.toBe(first['refresh_token']);
    // Every access token belongs to the same session and works.
    const sids = new Set(await Promise.all(results.map(async (r) => (await whoami(r.body['access_token'])).body['sid'])));
    expect(sids).toEqual(new Set([(await whoami(first['access_token'])).body['sid']]));
    // One generation bump: the successor rotates once more, and the family is still alive.
    const next = await refresh(successor);
    expect(next.status).toBe(200);
    expect(next.body['refresh_token']).not.toBe(successor);
  });

  it('a retry after a lost response gets the very same successor, and the session is kept', async () => {
    const first = (await login()).body;
    const lost = await refresh(first['refresh_token']);
    const retry = await refresh(first['refresh_token']);
    expect(retry.status).toBe(200);
    expect(retry.body['refresh_token']).toBe(lost.body['refresh_token']);
    expect((await whoami(retry.body['access_token'])).status).toBe(200);
    expect((await whoami(lost.body['access_token'])).status).toBe(200);
    expect((await refresh(retry.body['refresh_token'])).status).toBe(200);
  });

  it('a refresh is one conditional write, one key-registry read and one Sign; a retry within the window the same', async () => {
    const first = (await login()).body;
    dynamo.reset();
    service.kms.resetCalls();
    expect((await refresh(first['refresh_token'])).status).toBe(200);
    expect(dynamo.counts()).toEqual({ UpdateItem: 1, GetItem: 1 });
    expect(service.kms.calls()).toEqual({ Sign: 1 });
    dynamo.reset();
    service.kms.resetCalls();
    // The refused conditional write reads the family back (ReturnValuesOnConditionCheckFailure):
    // that is the retry's one read.
    expect((await refresh(first['refresh_token'])).status).toBe(200);
    expect(dynamo.counts()).toEqual({ UpdateItem: 1, GetItem: 1 });
    expect(service.kms.calls()).toEqual({ Sign: 1 });
  });

  it('after the window the superseded token is reuse: the family is revoked and its access tokens stop', async () => {
    const first = (await login()).body;
    const second = (await refresh(first['refresh_token'])).body;
    await sleep((GRACE_SECONDS + 1) * 1000);
    const replay = await refresh(first['refresh_token']);
    expect(replay.status).toBe(401);
    expect(replay.body['error']).toBe('invalid_grant');
    expect((await refresh(second['refresh_token'])).status).toBe(401);
    expect((await whoami(second['access_token'])).status).toBe(401);
  }, 20_000);
});

describe('tampered and superseded tokens', () => {
  it('a token with one character of its random part changed is 401 invalid_grant and the session lives on', async () => {
    const first = (await login()).body;
    const token = String(first['refresh_token']);
    // The random part follows the version, sub, family id and generation (1 + 16 + 16 + 4 bytes = 50 characters).
    for (const index of [60, 80]) {
      const res = await refresh(withCharChanged(token, index));
      expect(res.status).toBe(401);
      expect(res.body['error']).toBe('invalid_grant');
    }
    expect((await whoami(first['access_token'])).status).toBe(200);
    expect((await refresh(token)).status).toBe(200);
  });

  it('a token with its tag changed, or with the generation of another, is 401 and changes nothing', async () => {
    const first = (await login()).body;
    const token = String(first['refresh_token']);
    for (const bad of [withCharChanged(token, token.length - 3), withCharChanged(token, 45)]) {
      expect((await refresh(bad)).status).toBe(401);
    }
    expect((await whoami(first['access_token'])).status).toBe(200);
    expect((await refresh(token)).status).toBe(200);
  });

  it('POST /revoke with a tampered refresh token answers 200 (RFC 7009) and ends nothing', async () => {
    const first = (await login()).body;
    const token = String(first['refresh_token']);
    for (const bad of [withCharChanged(token, 60), withCharChanged(token, token.length - 3)]) {
      const res = await request(service.url, 'POST', '/revoke', { json: { token: bad } });
      expect(res.status).toBe(200);
    }
    expect((await whoami(first['access_token'])).status).toBe(200);
    expect((await refresh(token)).status).toBe(200);
  });

  it('a token superseded two generations ago is reuse even within the grace period', async () => {
    const first = (await login()).body;
    const second = (await refresh(first['refresh_token'])).body;
    const third = (await refresh(second['refresh_token'])).body;
    const replay = await refresh(first['refresh_token']);
    expect(replay.status).toBe(401);
    expect((await refresh(third['refresh_token'])).status).toBe(401);
    expect((await whoami(third['access_token'])).status).toBe(401);
  });
});
