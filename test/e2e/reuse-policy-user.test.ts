/**
 * `REUSE_POLICY=user` over HTTP against the local service: a replayed refresh token ends every
 * session of its user, not only its own family (reuse detection with the stricter policy, SECURITY.md),
 * and the refresh function stays within what the stack grants it while doing so (the Query over the
 * user's families is the one call the default policy never makes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalService } from '../../local/service.ts';
import type { CountingProxy } from '../support/counting-proxy.ts';
import { startCountedService, type CountedService } from '../support/counted-service.ts';
import { request } from '../support/http-client.ts';
import { expectWithinGrants, grantedActions, observeActions } from '../support/iam-grants.ts';

const PASSWORD = 'reuse policy user password';
let service: LocalService;
let dynamo: CountingProxy;
let counted: CountedService | undefined;

const login = () => request(service.url, 'POST', '/login', { json: { username: 'demo', password: PASSWORD } });
const refresh = (token: unknown) => request(service.url, 'POST', '/refresh', { json: { refresh_token: token } });
const whoami = (token: unknown) => request(service.url, 'GET', '/whoami', { headers: { authorization: `Bearer ${String(token)}` } });

beforeAll(async () => {
  counted = await startCountedService({ demoPassword: PASSWORD, env: { REUSE_POLICY: 'user' } });
  ({ service, dynamo } = counted);
}, 120_000);

afterAll(async () => {
  await counted?.stop();
});

describe('REUSE_POLICY=user', () => {
  it('ends every session of the user when one refresh token is replayed, within the granted actions', async () => {
    const phone = (await login()).body;
    const laptop = (await login()).body;
    expect((await whoami(laptop['access_token'])).status).toBe(200);
    // Two rotations, so that the phone's first token is reuse even within the refresh grace period.
    const rotated = await refresh((await refresh(phone['refresh_token'])).body['refresh_token']);
    expect(rotated.status).toBe(200);

    const seen = await observeActions(dynamo, service.kms, async () => {
      const replay = await refresh(phone['refresh_token']);
      expect(replay.status).toBe(401);
      expect(replay.body['error']).toBe('invalid_grant');
    });
    // Rotation attempt, then every family of the user found and revoked, plus the user entry.
    expect(seen.dynamo).toContain('dynamodb:Query');
    expectWithinGrants(seen, grantedActions('refresh'));

    // The other device's session is gone too: its refresh token and its access token both fail.
    expect((await refresh(laptop['refresh_token'])).status).toBe(401);
    expect((await refresh(rotated.body['refresh_token'])).status).toBe(401);
    expect((await whoami(laptop['access_token'])).status).toBe(401);
    expect((await whoami(rotated.body['access_token'])).status).toBe(401);
  });

  it('lets the user log in again afterwards', async () => {
    // Tokens issued in the same second as the revocation would still be refused (notBefore).
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const fresh = await login();
    expect(fresh.status).toBe(200);
    expect((await whoami(fresh.body['access_token'])).status).toBe(200);
  });
});
