import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidGrantError, InvalidScopeError, RetryableConflictError, TooManyRequestsError } from '../../../lambdas/core/errors.ts';
import { login, type LoginDeps, type LoginRequest } from '../../../lambdas/core/login.ts';
import { Argon2idHasher } from '../../../lambdas/core/passwords.ts';
import type { FamilyCreation, UserRecord } from '../../../lambdas/core/ports.ts';
import { parseRefreshToken } from '../../../lambdas/core/refresh-token.ts';
import {
  activeUser,
  CONFIG,
  countingRandom,
  CURRENT_HASH,
  DECOY_HASH,
  fakePasswords,
  fakeSessions,
  fakeSigner,
  FAKE_DEVICE_TOKEN,
  fakeThrottle,
  fakeUsers,
  fixedClock,
  jwtPayload,
  NOW_MS,
  NOW_S,
  SUB,
  type CallLog,
  noSecondFactors,
} from './fakes.ts';

const REQUEST: LoginRequest = { username: 'alice', password: 'correct horse', sourceIp: '203.0.113.7' };

interface Options {
  users?: readonly UserRecord[];
  throttleError?: unknown;
  signError?: unknown;
  createError?: unknown;
  createOutcomes?: readonly FamilyCreation[];
  rehash?: boolean;
  hashError?: unknown;
  replaceError?: unknown;
}

function setup(options: Options = {}) {
  const calls: CallLog = [];
  const signer = fakeSigner(calls, options.signError);
  const sessions = fakeSessions(calls, {
    createError: options.createError,
    ...(options.createOutcomes === undefined ? {} : { createOutcomes: options.createOutcomes }),
  });
  const users = fakeUsers(calls, options.users ?? [activeUser()], options.replaceError);
  const passwords = fakePasswords(calls, { rehash: options.rehash ?? false, hashError: options.hashError });
  const throttle = fakeThrottle(calls, options.throttleError);
  const random = countingRandom();
  const clock = fixedClock();
  const deps: LoginDeps = { config: CONFIG, signer, sessions, users, passwords, throttle, clock, random, secondFactors: noSecondFactors() };
  return { calls, signer, sessions, users, passwords, throttle, random, clock, deps };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('login should have failed'),
    (e: unknown) => e,
  );
}

describe('login: bad credentials look and cost the same', () => {
  const cases: [string, Options, LoginRequest, string][] = [
    ['an unknown user', {}, { ...REQUEST, username: 'mallory' }, DECOY_HASH],
    ['a disabled user with the right password', { users: [activeUser({ status: 'disabled' })] }, REQUEST, CURRENT_HASH],
    ['a wrong password', {}, { ...REQUEST, password: 'Correct horse' }, CURRENT_HASH],
  ];

  it('answers all three with indistinguishable errors (same class, code, status, description)', async () => {
    const seen = new Set<string>();
    for (const [, options, request] of cases) {
      const error = (await failure(login(request, setup(options).deps))) as InvalidGrantError;
      seen.add(JSON.stringify([error.constructor.name, error.code, error.status, error.description, error.message]));
    }
    expect(seen.size).toBe(1);
  });

  for (const [name, options, request, expectedHash] of cases) {
    it(`rejects ${name} with InvalidGrantError "The username or password is incorrect."`, async () => {
      const { deps } = setup(options);
      const error = await failure(login(request, deps));
      expect(error).toBeInstanceOf(InvalidGrantError);
      const grant = error as InvalidGrantError;
      expect(grant.status).toBe(401);
      expect(grant.description).toBe('The username or password is incorrect.');
    });

    it(`verifies exactly one hash for ${name} (${expectedHash === DECOY_HASH ? 'the decoy' : "the user's"})`, async () => {
      const { deps, passwords } = setup(options);
      await failure(login(request, deps));
      expect(passwords.verified).toEqual([expectedHash]);
    });

    it(`counts the attempt before the hash, takes nothing back and issues nothing for ${name}`, async () => {
      const { deps, throttle, signer, sessions, calls } = setup(options);
      await failure(login(request, deps));
      expect(throttle.admitted).toEqual([{ username: request.username, sourceIp: request.sourceIp }]);
      expect(calls.indexOf('admit')).toBeLessThan(calls.indexOf('verify'));
      expect(throttle.passes).toEqual([]);
      expect(signer.inputs).toEqual([]);
      expect(sessions.created).toEqual([]);
    });
  }
});

describe('login: throttling', () => {
  it('rejects a throttled attempt before looking up the user or verifying anything', async () => {
    const { deps, calls } = setup({ throttleError: new TooManyRequestsError('slow down', 7) });
    const error = await failure(login(REQUEST, deps));
    expect(error).toBeInstanceOf(TooManyRequestsError);
    expect(calls).toEqual(['admit']);
  });

  it('hands the presented device token to the throttle, and the admission back to it after a correct password', async () => {
    const { deps, throttle } = setup();
    const attempt = { username: REQUEST.username, sourceIp: REQUEST.sourceIp, deviceToken: 'presented-device-token' };
    await login({ ...REQUEST, deviceToken: 'presented-device-token' }, deps);
    expect(throttle.admitted).toEqual([attempt]);
    expect(throttle.passes).toEqual([{ attempt, admission: { via: 'limits' } }]);
  });

  it('returns the device token the throttle hands out', async () => {
    const { deps } = setup();
    expect((await login(REQUEST, deps)).deviceToken).toBe(FAKE_DEVICE_TOKEN);
  });
});

describe('login: scopes', () => {
  it('rejects a requested scope the user does not hold with InvalidScopeError, storing nothing', async () => {
    const { deps, sessions, signer } = setup();
    const error = await failure(login({ ...REQUEST, scope: ['read', 'admin'] }, deps));
    expect(error).toBeInstanceOf(InvalidScopeError);
    expect(sessions.created).toEqual([]);
    expect(signer.inputs).toEqual([]);
  });

  it('grants the requested subset, in the token and the response', async () => {
    const { deps, sessions } = setup();
    const { response } = await login({ ...REQUEST, scope: ['write'] }, deps);
    expect(response.scope).toBe('write');
    expect(jwtPayload(response.access_token)['scope']).toBe('write');
    expect(sessions.created[0]?.scope).toBe('write');
  });

  it('grants all held scopes when none is requested', async () => {
    const { deps } = setup();
    expect((await login(REQUEST, deps)).response.scope).toBe('read write');
  });
});

describe('login: order of signing and storing', () => {
  it('counts the attempt first, takes it back once the password is right, then signs before storing the family', async () => {
    const { deps, calls } = setup();
    await login(REQUEST, deps);
    expect(calls).toEqual(['admit', 'findUser', 'verify', 'passed', 'sign', 'createFamily']);
  });

  it('stores nothing when signing fails', async () => {
    const kmsDown = new Error('KMS down');
    const { deps, sessions } = setup({ signError: kmsDown });
    expect(await failure(login(REQUEST, deps))).toBe(kmsDown);
    expect(sessions.created).toEqual([]);
  });

  it('propagates a createFamily failure and returns no token', async () => {
    const conflict = new RetryableConflictError('logged out everywhere meanwhile');
    const { deps } = setup({ createError: conflict });
    expect(await failure(login(REQUEST, deps))).toBe(conflict);
  });
});

describe('login: success', () => {
  it('answers with RFC 6749 §5.1 fields: Bearer, expires_in 900, a refresh token and its lifetime', async () => {
    const { deps } = setup();
    const { response } = await login(REQUEST, deps);
    expect(Object.keys(response).sort()).toEqual(['access_token', 'expires_in', 'refresh_expires_in', 'refresh_token', 'scope', 'token_type']);
    expect(response.token_type).toBe('Bearer');
    expect(response.expires_in).toBe(900);
    expect(response.refresh_expires_in).toBe(7 * 86_400);
  });

  it('returns a refresh token for the user whose hash is the one stored with the family', async () => {
    const { deps, sessions } = setup();
    const { response, sub, sid } = await login(REQUEST, deps);
    const parsed = parseRefreshToken(response.refresh_token);
    const stored = sessions.created[0];
    expect(parsed?.sub).toBe(SUB);
    expect(sub).toBe(SUB);
    expect(stored?.tokenHash).toBe(parsed?.hash);
    expect(stored?.fid).toBe(parsed?.fid);
    expect(stored?.sid).toBe(sid);
    expect(sid).not.toBe(stored?.fid);
  });

  it('stores a generation-0 family with sliding and absolute expiry from now', async () => {
    const { deps, sessions } = setup();
    await login(REQUEST, deps);
    expect(sessions.created[0]).toMatchObject({
      sub: SUB,
      username: 'alice',
      clientId: 'kms-jwt-auth',
      authTime: NOW_S,
      expiresAt: NOW_S + 7 * 86_400,
      absoluteExpiresAt: NOW_S + 30 * 86_400,
      generation: 0,
    });
  });

  it('signs an access token carrying sub, sid, auth_time and a 900 s lifetime', async () => {
    const { deps, signer } = setup();
    const { response, sid } = await login(REQUEST, deps);
    const claims = jwtPayload(response.access_token);
    expect(claims).toMatchObject({ iss: CONFIG.issuer, aud: CONFIG.audience, sub: SUB, sid, iat: NOW_S, exp: NOW_S + 900, auth_time: NOW_S });
    expect(Buffer.from(signer.inputs[0] ?? []).toString('ascii')).toBe(response.access_token.split('.').slice(0, 2).join('.'));
  });

  it('names the password as the authentication method (amr ["pwd"], RFC 8176) in the token and on the stored family', async () => {
    const { deps, sessions } = setup();
    const { response } = await login(REQUEST, deps);
    expect(jwtPayload(response.access_token)['amr']).toEqual(['pwd']);
    expect(sessions.created[0]?.amr).toEqual(['pwd']);
  });
});

describe('login: password rehash', () => {
  it('does not rehash when the hash has the current parameters', async () => {
    const { deps, calls, users } = setup({ rehash: false });
    await login(REQUEST, deps);
    expect(calls).not.toContain('hash');
    expect(users.replaced).toEqual([]);
  });

  it('rehashes and replaces the stored hash, conditional on the old one, when needsRehash is true', async () => {
    const { deps, users } = setup({ rehash: true });
    await login(REQUEST, deps);
    expect(users.replaced).toEqual([{ username: 'alice', previousHash: CURRENT_HASH, nextHash: '$argon2id$v=19$m=19456,t=2,p=1$new$13' }]);
  });

  it('still logs in when replacing the upgraded hash fails', async () => {
    const { deps } = setup({ rehash: true, replaceError: new Error('DynamoDB down') });
    await expect(login(REQUEST, deps)).resolves.toMatchObject({ sub: SUB });
  });

  it('still logs in when computing the upgraded hash fails (the family is already stored)', async () => {
    const { deps, sessions } = setup({ rehash: true, hashError: new Error('out of memory') });
    await expect(login(REQUEST, deps)).resolves.toMatchObject({ sub: SUB });
    expect(sessions.created).toHaveLength(1);
  });

  it('never rehashes on a failed login', async () => {
    const { deps, calls } = setup({ rehash: true });
    await failure(login({ ...REQUEST, password: 'nope' }, deps));
    expect(calls).not.toContain('hash');
    expect(calls).not.toContain('replacePasswordHash');
  });
});

describe('login right after a logout-everywhere of the same user', () => {
  // NOW_MS is NOW_S + 500 ms: the login begins half way through its second.
  const loggedOut = (atMs: number): FamilyCreation => ({ outcome: 'logged_out_everywhere', atMs, atSeconds: Math.floor(atMs / 1000) });

  it('tells the store when the login began, to the millisecond', async () => {
    const { deps, sessions } = setup();
    await login(REQUEST, deps);
    expect(sessions.creations.map((c) => c.check)).toEqual([{ nowSeconds: NOW_S, loginStartedMs: NOW_MS }]);
  });

  it('succeeds when the logout was over before the login began, in the same second: waits for the next second and issues tokens of that second', async () => {
    const { deps, sessions, clock, calls, throttle } = setup({ createOutcomes: [loggedOut(NOW_S * 1000 + 200)] });
    const { response } = await login(REQUEST, deps);
    expect(clock.slept).toEqual([500]);
    expect(calls).toEqual(['admit', 'findUser', 'verify', 'passed', 'sign', 'createFamily', 'sign', 'createFamily']);
    expect(sessions.created).toHaveLength(1);
    expect(sessions.created[0]).toMatchObject({ authTime: NOW_S + 1, expiresAt: NOW_S + 1 + 7 * 86_400, absoluteExpiresAt: NOW_S + 1 + 30 * 86_400 });
    // auth_time after the logout's second: the authorizer denies auth_time <= that second.
    expect(jwtPayload(response.access_token)).toMatchObject({ iat: NOW_S + 1, auth_time: NOW_S + 1, exp: NOW_S + 1 + 900 });
    expect(parseRefreshToken(response.refresh_token)?.hash).toBe(sessions.created[0]?.tokenHash);
    expect(sessions.creations[1]?.check).toEqual({ nowSeconds: NOW_S + 1, loginStartedMs: NOW_MS });
    expect(throttle.passes).toHaveLength(1);
  });

  it('does not wait when the store reports a logout of an earlier second (nothing to wait for), and still retries once', async () => {
    const { deps, sessions, clock } = setup({ createOutcomes: [loggedOut(NOW_S * 1000 - 1)] });
    await login(REQUEST, deps);
    expect(clock.slept).toEqual([0]);
    expect(sessions.created[0]?.authTime).toBe(NOW_S);
  });

  it.each([
    ['at the very millisecond the login began', NOW_MS],
    ['while the login ran', NOW_MS + 150],
  ])('refuses with RetryableConflictError (503) a logout made %s: a true race, which the logout wins', async (_name, atMs) => {
    const { deps, sessions, clock, throttle } = setup({ createOutcomes: [loggedOut(atMs)] });
    expect(await failure(login(REQUEST, deps))).toBeInstanceOf(RetryableConflictError);
    expect(clock.slept).toEqual([]);
    expect(sessions.created).toEqual([]);
    expect(throttle.passes).toHaveLength(1);
  });

  it('refuses when another logout-everywhere lands while it waits, and waits only once', async () => {
    const { deps, sessions, clock } = setup({ createOutcomes: [loggedOut(NOW_S * 1000 + 200), loggedOut(NOW_MS + 300)] });
    expect(await failure(login(REQUEST, deps))).toBeInstanceOf(RetryableConflictError);
    expect(clock.slept).toEqual([500]);
    expect(sessions.created).toEqual([]);
  });
});

describe('login: NFKC normalization (NIST SP 800-63B-4 §3.1.1.2) with the real Argon2id hasher', () => {
  const hasher = new Argon2idHasher(undefined, (n) => randomBytes(n));
  const TYPED = 'ﬁne Ｐａｓｓｐｈｒａｓｅ café'; // a ligature, full-width letters, a combining accent
  const NORMALIZED = TYPED.normalize('NFKC');

  function withHash(passwordHash: string) {
    const ctx = setup({ users: [activeUser({ passwordHash })] });
    const deps: LoginDeps = { ...ctx.deps, passwords: hasher };
    return { ...ctx, deps };
  }

  it('verifies a hash of the normalized password whichever equivalent form is typed', async () => {
    const { deps, users } = withHash(await hasher.hash(NORMALIZED));
    await expect(login({ ...REQUEST, password: TYPED }, deps)).resolves.toMatchObject({ sub: SUB });
    await expect(login({ ...REQUEST, password: NORMALIZED }, deps)).resolves.toMatchObject({ sub: SUB });
    expect(users.replaced).toEqual([]);
  });

  it('still verifies a hash made of the password as typed before normalization, and re-hashes it normalized', async () => {
    const legacy = await hasher.hash(TYPED);
    const { deps, users } = withHash(legacy);
    await expect(login({ ...REQUEST, password: TYPED }, deps)).resolves.toMatchObject({ sub: SUB });
    expect(users.replaced).toHaveLength(1);
    const upgraded = users.replaced[0]?.nextHash ?? '';
    expect(users.replaced[0]?.previousHash).toBe(legacy);
    expect(await hasher.verify(upgraded, NORMALIZED)).toBe(true);
  });

  it('never applies the new-password rules at login: a short old password still signs in', async () => {
    const { deps } = withHash(await hasher.hash('short'));
    await expect(login({ ...REQUEST, password: 'short' }, deps)).resolves.toMatchObject({ sub: SUB });
  });
});
