import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TooManyRequestsError } from '../../../lambdas/core/errors.ts';
import {
  blockedUntil,
  CountingLoginThrottle,
  THROTTLE_RULES,
  WINDOW_MS,
  type CounterKind,
  type CounterState,
  type ThrottleCounters,
  type ThrottleKey,
} from '../../../lambdas/core/login-throttle.ts';

const NOW = 1_800_000_000_000;
const state = (failures: number, lastFailureAt = NOW, windowEndsAt = lastFailureAt + WINDOW_MS): CounterState => ({
  failures,
  lastFailureAt,
  windowEndsAt,
});
const delay = (kind: CounterKind, failures: number): number => blockedUntil(kind, state(failures), NOW) - NOW;

describe('blockedUntil thresholds', () => {
  const thresholds: [CounterKind, number][] = [
    ['user_ip', 5],
    ['user', 20],
    ['ip', 100],
  ];
  for (const [kind, threshold] of thresholds) {
    it(`does not block ${kind} below ${threshold} failures`, () => {
      expect(THROTTLE_RULES[kind].threshold).toBe(threshold);
      expect(blockedUntil(kind, state(threshold - 1), NOW)).toBe(0);
    });
    it(`blocks ${kind} for 1 s from the last failure at ${threshold} failures`, () => {
      expect(blockedUntil(kind, state(threshold, NOW - 200), NOW)).toBe(NOW - 200 + 1_000);
    });
  }

  it('does not block without a counter', () => expect(blockedUntil('user_ip', undefined, NOW)).toBe(0));
  it('does not block with zero failures', () => expect(blockedUntil('user_ip', state(0), NOW)).toBe(0));
});

describe('blockedUntil doubling and caps', () => {
  it('doubles the user_ip delay with each failure past the threshold', () => {
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
        (failures, sinceLastFailure) => {
          const until = blockedUntil('user', state(failures, NOW - sinceLastFailure), NOW);
          expect(until - NOW).toBeLessThanOrEqual(60_000);
          expect(Number.isFinite(until)).toBe(true);
        },
      ),
    );
  });
  it('never blocks any kind past its cap, even for huge failure counts', () => {
    fc.assert(
      fc.property(fc.constantFrom<CounterKind>('user_ip', 'user', 'ip'), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (kind, failures) => {
        const until = blockedUntil(kind, state(failures), NOW);
        expect(until - NOW).toBeLessThanOrEqual(THROTTLE_RULES[kind].maxDelayMs);
      }),
    );
  });
});

describe('blockedUntil window expiry', () => {
  it('stops blocking once the window has ended, however many failures', () => {
    expect(blockedUntil('user_ip', state(1_000, NOW - WINDOW_MS, NOW), NOW)).toBe(0);
  });
  it('still blocks one millisecond before the window ends', () => {
    expect(blockedUntil('user_ip', state(1_000, NOW - 1, NOW + 1), NOW)).toBe(NOW - 1 + 15 * 60_000);
  });
  it('unblocks as soon as the delay since the last failure has passed', () => {
    const until = blockedUntil('user_ip', state(6, NOW - 2_000), NOW);
    expect(until).toBe(NOW);
    expect(until > NOW).toBe(false);
  });
});

const KEY: ThrottleKey = { username: 'alice', sourceIp: '203.0.113.7' };

function fakeCounters(states: Partial<Record<CounterKind, CounterState>> = {}) {
  const cleared: CounterKind[] = [];
  const added: { nowMs: number; windowMs: number }[] = [];
  const reads: ThrottleKey[] = [];
  const counters: ThrottleCounters = {
    read: (key) => {
      reads.push(key);
      return Promise.resolve(states);
    },
    addFailure: (_key, nowMs, windowMs) => {
      added.push({ nowMs, windowMs });
      return Promise.resolve();
    },
    clear: (_key, kind) => {
      cleared.push(kind);
      return Promise.resolve();
    },
  };
  return { counters, cleared, added, reads };
}

async function rejection(promise: Promise<unknown>): Promise<TooManyRequestsError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TooManyRequestsError);
  return error as TooManyRequestsError;
}

describe('CountingLoginThrottle', () => {
  it('allows a key with no counters, reporting no user_ip failures', async () => {
    const { counters, reads } = fakeCounters();
    expect(await new CountingLoginThrottle(counters).assertAllowed(KEY, NOW)).toEqual({ hadUserIpFailures: false });
    expect(reads).toEqual([KEY]);
  });

  it('allows a key below every threshold, reporting that user_ip saw failures', async () => {
    const { counters } = fakeCounters({ user_ip: state(4), user: state(19), ip: state(99) });
    expect(await new CountingLoginThrottle(counters).assertAllowed(KEY, NOW)).toEqual({ hadUserIpFailures: true });
  });

  it('throws TooManyRequestsError (429) while the user_ip counter blocks', async () => {
    const { counters } = fakeCounters({ user_ip: state(5, NOW - 100) });
    const error = await rejection(new CountingLoginThrottle(counters).assertAllowed(KEY, NOW));
    expect(error.status).toBe(429);
    expect(error.code).toBe('too_many_requests');
  });

  it('rounds retryAfterSeconds up: 900 ms left is 1 s', async () => {
    const { counters } = fakeCounters({ user_ip: state(5, NOW - 100) });
    expect((await rejection(new CountingLoginThrottle(counters).assertAllowed(KEY, NOW))).retryAfterSeconds).toBe(1);
  });

  it('rounds retryAfterSeconds up: 2001 ms left is 3 s', async () => {
    const { counters } = fakeCounters({ user_ip: state(6, NOW + 1) });
    expect((await rejection(new CountingLoginThrottle(counters).assertAllowed(KEY, NOW))).retryAfterSeconds).toBe(3);
  });

  it('answers with the longest of the blocking counters', async () => {
    const { counters } = fakeCounters({ user_ip: state(5), user: state(23), ip: state(101) });
    expect((await rejection(new CountingLoginThrottle(counters).assertAllowed(KEY, NOW))).retryAfterSeconds).toBe(8);
  });

  it('blocks on the ip counter alone (password spraying across usernames)', async () => {
    const { counters } = fakeCounters({ ip: state(100) });
    expect((await rejection(new CountingLoginThrottle(counters).assertAllowed(KEY, NOW))).retryAfterSeconds).toBe(1);
  });

  it('does not block on an expired window', async () => {
    const { counters } = fakeCounters({ user_ip: state(50, NOW - 1000, NOW) });
    await expect(new CountingLoginThrottle(counters).assertAllowed(KEY, NOW)).resolves.toEqual({ hadUserIpFailures: true });
  });

  it('records a failure with the 15-minute window', async () => {
    const { counters, added } = fakeCounters();
    await new CountingLoginThrottle(counters).recordFailure(KEY, NOW);
    expect(added).toEqual([{ nowMs: NOW, windowMs: 15 * 60_000 }]);
  });

  it('clears only the user_ip counter on success after failures', async () => {
    const { counters, cleared } = fakeCounters();
    await new CountingLoginThrottle(counters).recordSuccess(KEY, { hadUserIpFailures: true });
    expect(cleared).toEqual(['user_ip']);
  });

  it('writes nothing on a clean success (no failures seen)', async () => {
    const { counters, cleared, added } = fakeCounters();
    await new CountingLoginThrottle(counters).recordSuccess(KEY, { hadUserIpFailures: false });
    expect(cleared).toEqual([]);
    expect(added).toEqual([]);
  });
});
