import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TooManyRequestsError } from '../../../lambdas/core/errors.ts';
import {
  blockedUntil,
  CountingLoginThrottle,
  DEVICE_MAX_ATTEMPTS,
  DEVICE_TRUST_MS,
  planCount,
  THROTTLE_RULES,
  WINDOW_MS,
} from '../../../lambdas/core/login-throttle.ts';
import { hashBearerToken } from '../../../lambdas/core/token-hash.ts';
import type {
  CounterKind,
  CounterState,
  CountPlan,
  CountResult,
  ThrottleCounters,
  ThrottleKey,
  TrustedDevices,
} from '../../../lambdas/core/ports.ts';

const NOW = 1_800_000_000_000;
const state = (attempts: number, lastAttemptAt = NOW, windowEndsAt = lastAttemptAt + WINDOW_MS): CounterState => ({
  attempts,
  lastAttemptAt,
  windowEndsAt,
});
const delay = (kind: CounterKind, attempts: number): number => blockedUntil(kind, state(attempts), NOW) - NOW;

describe('blockedUntil thresholds', () => {
  const thresholds: [CounterKind, number][] = [
    ['user_ip', 5],
    ['user', 20],
    ['ip', 100],
  ];
  for (const [kind, threshold] of thresholds) {
    it(`does not block ${kind} below ${threshold} attempts`, () => {
      expect(THROTTLE_RULES[kind].threshold).toBe(threshold);
      expect(blockedUntil(kind, state(threshold - 1), NOW)).toBe(0);
    });
    it(`blocks ${kind} for 1 s from the last attempt at ${threshold} attempts`, () => {
      expect(blockedUntil(kind, state(threshold, NOW - 200), NOW)).toBe(NOW - 200 + 1_000);
    });
  }

  it('does not block without a counter', () => expect(blockedUntil('user_ip', undefined, NOW)).toBe(0));
  it('does not block with zero attempts', () => expect(blockedUntil('user_ip', state(0), NOW)).toBe(0));
});

describe('blockedUntil doubling and caps', () => {
  it('doubles the user_ip delay with each attempt past the threshold', () => {
    expect([5, 6, 7, 8, 9].map((n) => delay('user_ip', n))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });
  it('caps the user_ip delay at 15 minutes', () => {
    expect(delay('user_ip', 15)).toBe(15 * 60_000);
    expect(delay('user_ip', 1_000)).toBe(15 * 60_000);
  });
  it('caps the ip delay at 15 minutes', () => expect(delay('ip', 100 + 40)).toBe(15 * 60_000));
  it('doubles the user delay up to 60 s: 32 s at threshold+5, 60 s at threshold+6', () => {
    expect(delay('user', 25)).toBe(32_000);
    expect(delay('user', 26)).toBe(60_000);
  });
  it('never blocks the user kind for more than 60 s, whatever the failure count (no permanent lockout of a victim)', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
        fc.integer({ min: 0, max: WINDOW_MS - 1 }),
        (attempts, sinceLastAttempt) => {
          const until = blockedUntil('user', state(attempts, NOW - sinceLastAttempt), NOW);
          expect(until - NOW).toBeLessThanOrEqual(60_000);
          expect(Number.isFinite(until)).toBe(true);
        },
      ),
    );
  });
  it('never blocks any kind past its cap, even for huge failure counts', () => {
    fc.assert(
      fc.property(fc.constantFrom<CounterKind>('user_ip', 'user', 'ip'), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (kind, attempts) => {
        const until = blockedUntil(kind, state(attempts), NOW);
        expect(until - NOW).toBeLessThanOrEqual(THROTTLE_RULES[kind].maxDelayMs);
      }),
    );
  });
});

describe('blockedUntil window expiry', () => {
  it('stops blocking once the window has ended, however many attempts', () => {
    expect(blockedUntil('user_ip', state(1_000, NOW - WINDOW_MS, NOW), NOW)).toBe(0);
  });
  it('still blocks one millisecond before the window ends', () => {
    expect(blockedUntil('user_ip', state(1_000, NOW - 1, NOW + 1), NOW)).toBe(NOW - 1 + 15 * 60_000);
  });
  it('unblocks as soon as the delay since the last attempt has passed', () => {
    const until = blockedUntil('user_ip', state(6, NOW - 2_000), NOW);
    expect(until).toBe(NOW);
    expect(until > NOW).toBe(false);
  });
});

describe('planCount: one conditional write per counted attempt', () => {
  it('starts a counter that is absent or whose window ended', () => {
    expect(planCount('user_ip', undefined, NOW)).toEqual({ mode: 'start' });
    expect(planCount('user_ip', state(50, NOW - WINDOW_MS, NOW), NOW)).toEqual({ mode: 'start' });
  });
  it('adds one while below the threshold, conditional on still being below it', () => {
    expect(planCount('user_ip', state(4), NOW)).toEqual({ mode: 'below', threshold: 5 });
    expect(planCount('user', state(19), NOW)).toEqual({ mode: 'below', threshold: 20 });
  });
  it('refuses at the threshold until the delay has passed', () => {
    expect(planCount('user_ip', state(5, NOW - 999), NOW)).toEqual({ blockedUntil: NOW + 1 });
  });
  it('takes the one slot a passed delay opens only if nobody counted since the state it saw', () => {
    const seen = state(6, NOW - 2_000);
    expect(planCount('user_ip', seen, NOW)).toEqual({ mode: 'exact', seen });
  });
});

const KEY: ThrottleKey = { username: 'alice', sourceIp: '203.0.113.7' };

/**
 * In-memory counters with the conditional semantics the DynamoDB adapter implements, one write at
 * a time (as DynamoDB applies them to one item).
 */
function memoryCounters(initial: Partial<Record<CounterKind, CounterState>> = {}, refuseWith?: unknown) {
  const states: Partial<Record<CounterKind, CounterState>> = { ...initial };
  const log: string[] = [];
  const counters: ThrottleCounters = {
    read: () => {
      log.push('read');
      return Promise.resolve({ ...states });
    },
    count: (_key, kind, plan: CountPlan, nowMs, windowMs): Promise<CountResult> => {
      log.push(`count:${kind}:${plan.mode}`);
      if (refuseWith !== undefined && kind === 'user') return Promise.reject(refuseWith);
      const current = states[kind];
      const open = current !== undefined && current.windowEndsAt > nowMs;
      const ok =
        plan.mode === 'start'
          ? !open
          : plan.mode === 'below'
            ? open && current.attempts < plan.threshold
            : open && current.attempts === plan.seen.attempts && current.lastAttemptAt === plan.seen.lastAttemptAt;
      if (!ok) return Promise.resolve({ counted: false, current });
      states[kind] = { attempts: plan.mode === 'start' || current === undefined ? 1 : current.attempts + 1, lastAttemptAt: nowMs, windowEndsAt: nowMs + windowMs };
      return Promise.resolve({ counted: true });
    },
    uncount: (_key, kind) => {
      log.push(`uncount:${kind}`);
      const current = states[kind];
      if (current !== undefined && current.attempts > 0) states[kind] = { ...current, attempts: current.attempts - 1 };
      return Promise.resolve();
    },
    clear: (_key, kind) => {
      log.push(`clear:${kind}`);
      delete states[kind];
      return Promise.resolve();
    },
  };
  return { counters, states, log };
}

function memoryDevices() {
  const devices = new Map<string, { username: string; attempts: number; expiresAt: number }>();
  const log: string[] = [];
  const store: TrustedDevices = {
    countAttempt: (hash, username, max, nowMs) => {
      log.push('countAttempt');
      const device = devices.get(hash);
      if (device === undefined || device.username !== username || device.expiresAt <= nowMs || device.attempts >= max) return Promise.resolve(false);
      device.attempts += 1;
      return Promise.resolve(true);
    },
    renew: (hash, username, nowMs, expiresAt) => {
      log.push('renew');
      const device = devices.get(hash);
      if (device === undefined || device.username !== username || device.expiresAt <= nowMs) return Promise.resolve(false);
      Object.assign(device, { attempts: 0, expiresAt });
      return Promise.resolve(true);
    },
    remember: (hash, username, expiresAt) => {
      log.push('remember');
      devices.set(hash, { username, attempts: 0, expiresAt });
      return Promise.resolve();
    },
  };
  return { store, devices, log };
}

let nextByte = 0;
const random = { bytes: (n: number) => new Uint8Array(n).fill((nextByte += 1)) };

function throttleWith(initial: Partial<Record<CounterKind, CounterState>> = {}, refuseWith?: unknown) {
  const counters = memoryCounters(initial, refuseWith);
  const devices = memoryDevices();
  return { throttle: new CountingLoginThrottle(counters.counters, devices.store, random), counters, devices };
}

async function rejection(promise: Promise<unknown>): Promise<TooManyRequestsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TooManyRequestsError);
  return error as TooManyRequestsError;
}

describe('CountingLoginThrottle: untrusted sources', () => {
  it('counts an attempt on all three counters before any password is checked', async () => {
    const { throttle, counters } = throttleWith();
    expect(await throttle.admit(KEY, NOW)).toEqual({ via: 'limits' });
    expect([counters.states.user_ip?.attempts, counters.states.ip?.attempts, counters.states.user?.attempts]).toEqual([1, 1, 1]);
  });

  it('counts the per-address counters first and the username-wide one only after both let the attempt through', async () => {
    const { throttle, counters } = throttleWith();
    await throttle.admit(KEY, NOW);
    expect(counters.log).toEqual(['read', 'count:user_ip:start', 'count:ip:start', 'count:user:start']);
  });

  it('counts 40 concurrent attempts as 40: 5 admitted, 35 refused, and the refused ones hold no place', async () => {
    const { throttle, counters } = throttleWith();
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, () => throttle.admit(KEY, NOW)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(5);
    expect([counters.states.user_ip?.attempts, counters.states.ip?.attempts, counters.states.user?.attempts]).toEqual([5, 5, 5]);
  });

  it('refuses without writing while a counter already blocks', async () => {
    const { throttle, counters } = throttleWith({ user_ip: state(5, NOW - 100) });
    expect((await rejection(throttle.admit(KEY, NOW))).retryAfterSeconds).toBe(1);
    expect(counters.log).toEqual(['read']);
  });

  it('answers with the longest of the blocking counters, rounded up to whole seconds', async () => {
    const { throttle } = throttleWith({ user_ip: state(5), user: state(23), ip: state(101) });
    expect((await rejection(throttle.admit(KEY, NOW))).retryAfterSeconds).toBe(8);
  });

  it('rounds retryAfterSeconds up: 2001 ms left is 3 s', async () => {
    const { throttle } = throttleWith({ user_ip: state(6, NOW + 1) });
    expect((await rejection(throttle.admit(KEY, NOW))).retryAfterSeconds).toBe(3);
  });

  it('blocks on the ip counter alone (password spraying across usernames)', async () => {
    const { throttle } = throttleWith({ ip: state(100) });
    expect((await rejection(throttle.admit(KEY, NOW))).retryAfterSeconds).toBe(1);
  });

  it('restarts a counter whose window has ended', async () => {
    const { throttle, counters } = throttleWith({ user_ip: state(50, NOW - WINDOW_MS, NOW) });
    await throttle.admit(KEY, NOW);
    expect(counters.states.user_ip?.attempts).toBe(1);
  });

  it('takes back the per-address counts when the username-wide counter refuses', async () => {
    // The read saw 19 on the username-wide counter; a concurrent attempt took the 20th place
    // before this one wrote.
    const { throttle, counters } = throttleWith({ user: state(20, NOW) });
    const { states } = counters;
    counters.counters.read = () => Promise.resolve({ user: state(19, NOW) });
    const error = await rejection(throttle.admit(KEY, NOW));
    expect(error.retryAfterSeconds).toBe(1);
    expect([states.user_ip?.attempts, states.ip?.attempts, states.user?.attempts]).toEqual([0, 0, 20]);
    expect(counters.log).toEqual(['count:user_ip:start', 'count:ip:start', 'count:user:below', 'uncount:user_ip', 'uncount:ip']);
  });

  it('takes back the per-address counts and answers 503 when the username-wide counter cannot be written', async () => {
    const down = new Error('DynamoDB down');
    const { throttle, counters } = throttleWith({}, down);
    await expect(throttle.admit(KEY, NOW)).rejects.toBe(down);
    expect([counters.states.user_ip?.attempts, counters.states.ip?.attempts]).toEqual([0, 0]);
  });

  it('a correct password takes its attempt back: clears username+IP, one back on username and IP, and issues a new device', async () => {
    const { throttle, counters, devices } = throttleWith({ user_ip: state(3), user: state(7), ip: state(9) });
    const admission = await throttle.admit(KEY, NOW);
    const token = await throttle.passed(KEY, admission, NOW);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(counters.states.user_ip).toBeUndefined();
    expect([counters.states.user?.attempts, counters.states.ip?.attempts]).toEqual([7, 9]);
    expect(devices.devices.get(hashBearerToken(token))).toEqual({ username: 'alice', attempts: 0, expiresAt: NOW + DEVICE_TRUST_MS });
  });
});

describe('CountingLoginThrottle: trusted devices', () => {
  async function withDevice(initial: Partial<Record<CounterKind, CounterState>> = {}) {
    const setup = throttleWith();
    const token = await setup.throttle.passed(KEY, await setup.throttle.admit(KEY, NOW), NOW);
    Object.assign(setup.counters.states, initial);
    setup.counters.log.length = 0;
    return { ...setup, token };
  }

  it('admits a device that signed in before while every counter refuses, and counts nothing on them', async () => {
    const { throttle, counters, token } = await withDevice({ user_ip: state(9), user: state(40), ip: state(500) });
    expect(await throttle.admit({ ...KEY, deviceToken: token }, NOW)).toMatchObject({ via: 'device' });
    expect(counters.log).toEqual([]);
  });

  it('gives a device 5 attempts between correct passwords, then treats it as untrusted', async () => {
    const { throttle, token } = await withDevice({ user: state(40) });
    for (let i = 0; i < DEVICE_MAX_ATTEMPTS; i += 1) expect((await throttle.admit({ ...KEY, deviceToken: token }, NOW)).via).toBe('device');
    await rejection(throttle.admit({ ...KEY, deviceToken: token }, NOW));
  });

  it('a correct password from the device renews it and hands back the same token, touching no counter', async () => {
    const { throttle, counters, devices, token } = await withDevice();
    const attempt = { ...KEY, deviceToken: token };
    await throttle.admit(attempt, NOW);
    expect(await throttle.passed(attempt, await throttle.admit(attempt, NOW + 1), NOW + 1)).toBe(token);
    expect(devices.devices.get(hashBearerToken(token))).toEqual({ username: 'alice', attempts: 0, expiresAt: NOW + 1 + DEVICE_TRUST_MS });
    expect(counters.log).toEqual([]);
  });

  it.each([
    ['another user', (token: string) => ({ username: 'bob', sourceIp: KEY.sourceIp, deviceToken: token }), NOW],
    ['after it expired', (token: string) => ({ ...KEY, deviceToken: token }), NOW + DEVICE_TRUST_MS],
    ['an unknown token', () => ({ ...KEY, deviceToken: 'x'.repeat(43) }), NOW],
    ['a malformed token', () => ({ ...KEY, deviceToken: 'not a device token' }), NOW],
    ['an empty token', () => ({ ...KEY, deviceToken: '' }), NOW],
  ])('treats %s as an untrusted source, counted on the limits', async (_name, attemptOf, at) => {
    const { throttle, counters, token } = await withDevice();
    expect(await throttle.admit(attemptOf(token), at)).toEqual({ via: 'limits' });
    expect(counters.log).toContain('read');
  });
});
