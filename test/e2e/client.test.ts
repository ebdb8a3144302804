/**
 * The client library against the local service (the unchanged handlers behind the local gateway,
 * DynamoDB Local, the KMS stand-in), from Node with its own global `fetch`: the races and losses a
 * mobile app meets. Requests are counted by wrapping the client's `fetch` option.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthClient, memoryStorage, NetworkError, SessionEndedError, type AuthClientOptions, type SessionEndedReason, type TokenStorage } from '../../client/index.ts';
import { startLocalService, type LocalService } from '../../local/service.ts';

const PASSWORD = 'client library demo password';
const REFRESH_KEY = 'kms-jwt-auth.refresh_token';
/** A clock an hour ahead: every access token the service issues (15 minutes) looks expired. */
const AN_HOUR_LATER = () => Date.now() + 3_600_000;
let service: LocalService;

beforeAll(async () => {
  service = await startLocalService({ port: 0, demoPassword: PASSWORD });
});

afterAll(async () => {
  await service?.stop();
});

/** The global fetch, counting the requests per path. */
function countingFetch() {
  const counts = new Map<string, number>();
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const path = new URL(String(input)).pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    return fetch(input, init);
  }) as typeof fetch;
  return { fetch: fetchImpl, count: (path: string) => counts.get(path) ?? 0 };
}

function client(options: Partial<AuthClientOptions> = {}) {
  const ended: SessionEndedReason[] = [];
  const auth = createAuthClient({ baseUrl: service.url, storage: memoryStorage(), ...options });
  auth.onSessionEnded((reason) => ended.push(reason));
  return { auth, ended };
}

async function signedInStorage(): Promise<TokenStorage> {
  const storage = memoryStorage();
  const result = await createAuthClient({ baseUrl: service.url, storage }).login({ username: 'demo', password: PASSWORD });
  expect(result).toEqual({ status: 'signed_in' });
  return storage;
}

const whoamiUrl = () => `${service.url}/whoami`;

async function rawRefresh(token: string): Promise<{ status: number; refreshToken: string | undefined }> {
  const res = await fetch(`${service.url}/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: token }) });
  const body = (await res.json()) as { refresh_token?: string };
  return { status: res.status, refreshToken: body.refresh_token };
}

describe('the client library against the local service', () => {
  it('50 concurrent authorized calls with an expired access token make exactly one refresh request, and all succeed', async () => {
    const storage = await signedInStorage();
    const counting = countingFetch();
    const { auth, ended } = client({ storage, fetch: counting.fetch, now: AN_HOUR_LATER });
    const responses = await Promise.all(Array.from({ length: 50 }, () => auth.fetch(whoamiUrl())));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(counting.count('/refresh')).toBe(1);
    expect(counting.count('/whoami')).toBe(50);
    expect(ended).toEqual([]);
  });

  it('logs in, calls an API and sends the device token with the next login', async () => {
    const storage = memoryStorage();
    const { auth } = client({ storage });
    await auth.login({ username: 'demo', password: PASSWORD });
    const device = await storage.get('kms-jwt-auth.device_token');
    expect(device).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const whoami = await auth.fetch(whoamiUrl());
    expect(whoami.status).toBe(200);
    expect(await whoami.json()).toMatchObject({ scope: expect.stringContaining('read') });
    await auth.logout();
    expect(await auth.isSignedIn()).toBe(false);
    await auth.login({ username: 'demo', password: PASSWORD });
    // The service renews a device token it recognises and issues a new one otherwise.
    expect(await storage.get('kms-jwt-auth.device_token')).toBe(device);
  });

  it('after a lost refresh response reports NetworkError, keeps its refresh token, and the retry within the grace period gets the lost successor: the session lives', async () => {
    const storage = await signedInStorage();
    const before = await storage.get(REFRESH_KEY);
    let lostSuccessor: string | undefined;
    let loseNext = true;
    const losing = (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(input, init);
      if (loseNext && String(input).endsWith('/refresh')) {
        // The service rotated the token; the phone never hears about it.
        loseNext = false;
        lostSuccessor = ((await response.json()) as { refresh_token?: string }).refresh_token;
        throw new TypeError('fetch failed: connection reset');
      }
      return response;
    }) as typeof fetch;
    const { auth, ended } = client({ storage, fetch: losing, now: AN_HOUR_LATER });

    await expect(auth.fetch(whoamiUrl())).rejects.toBeInstanceOf(NetworkError);
    expect(lostSuccessor).toBeDefined();
    expect(await storage.get(REFRESH_KEY)).toBe(before);

    // Within the grace period the retry gets the very successor that was lost: the session lives.
    const again = await auth.fetch(whoamiUrl());
    expect(again.status).toBe(200);
    expect(await storage.get(REFRESH_KEY)).toBe(lostSuccessor);
    expect(ended).toEqual([]);
  });

  it('a reused refresh token ends the session: the app is told, its storage is cleared, later calls throw SessionEndedError', async () => {
    const storage = await signedInStorage();
    const stolen = (await storage.get(REFRESH_KEY)) ?? '';
    const { auth, ended } = client({ storage });
    // Two rotations by the app: the stolen token is now two generations old, which is reuse
    // however long a grace period the service gives retries of the previous one.
    await auth.refresh();
    await auth.refresh();
    expect((await auth.fetch(whoamiUrl())).status).toBe(200);
    expect((await rawRefresh(stolen)).status).toBe(401);

    // Reuse revoked the session: the authorizer refuses the app's access token at once, the
    // client refreshes once, is refused, and ends the session.
    const error = await auth.fetch(whoamiUrl()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionEndedError);
    expect(error).toMatchObject({ code: 'session_ended', reason: 'refresh_rejected' });
    expect(ended).toEqual(['refresh_rejected']);
    expect(await storage.get(REFRESH_KEY)).toBeUndefined();
    expect(await storage.get('kms-jwt-auth.access_token')).toBeUndefined();
    expect(await auth.isSignedIn()).toBe(false);
    await expect(auth.fetch(whoamiUrl())).rejects.toMatchObject({ reason: 'not_signed_in' });
  });

  it('logout revokes the session at the service: the old refresh token is refused', async () => {
    const storage = await signedInStorage();
    const token = (await storage.get(REFRESH_KEY)) ?? '';
    const { auth, ended } = client({ storage });
    await auth.logout();
    expect(ended).toEqual(['logout']);
    expect((await rawRefresh(token)).status).toBe(401);
  });

  it('lists the user’s sessions with this one marked current, ends another device’s session by its sid (that device is told on its next call), and ending its own ends it here', async () => {
    const phone = client();
    const laptop = client();
    expect(await phone.auth.login({ username: 'demo', password: PASSWORD })).toEqual({ status: 'signed_in' });
    expect(await laptop.auth.login({ username: 'demo', password: PASSWORD })).toEqual({ status: 'signed_in' });
    const seenByPhone = await phone.auth.listSessions();
    const seenByLaptop = await laptop.auth.listSessions();
    const phoneSid = seenByPhone.find((s) => s.current)?.sid;
    const laptopSid = seenByLaptop.find((s) => s.current)?.sid;
    expect(phoneSid).toEqual(expect.any(String));
    expect(laptopSid).toEqual(expect.any(String));
    expect(phoneSid).not.toBe(laptopSid);
    expect(seenByPhone.map((s) => s.sid)).toContain(laptopSid);
    for (const session of seenByPhone) expect(new Date(session.createdAt).toISOString()).toBe(session.createdAt);

    await phone.auth.endSessionById(String(laptopSid));
    expect(phone.ended).toEqual([]);
    await expect(laptop.auth.fetch(whoamiUrl())).rejects.toMatchObject({ reason: 'refresh_rejected' });
    expect(laptop.ended).toEqual(['refresh_rejected']);
    expect((await phone.auth.listSessions()).map((s) => s.sid)).not.toContain(laptopSid);

    await phone.auth.endSessionById(String(phoneSid));
    expect(phone.ended).toEqual(['logout']);
    expect(await phone.auth.isSignedIn()).toBe(false);
  });

  // Last: it ends every session of the demo user.
  it('logout everywhere ends the other devices’ sessions; they are told on their next call', async () => {
    const phone = client({ storage: await signedInStorage() });
    const laptop = client({ storage: await signedInStorage() });
    expect((await laptop.auth.fetch(whoamiUrl())).status).toBe(200);
    await phone.auth.logoutEverywhere();
    expect(phone.ended).toEqual(['logout_everywhere']);
    await expect(laptop.auth.fetch(whoamiUrl())).rejects.toMatchObject({ reason: 'refresh_rejected' });
    expect(laptop.ended).toEqual(['refresh_rejected']);
    // A login right after logout-everywhere works.
    expect(await phone.auth.login({ username: 'demo', password: PASSWORD })).toEqual({ status: 'signed_in' });
  });
});
