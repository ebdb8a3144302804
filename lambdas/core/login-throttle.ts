/**
 * Login throttling policy (OWASP Authentication Cheat Sheet, "Protect Against Automated Attacks";
 * OWASP Blocking Brute Force Attacks). Three counters, each a TTL'd DynamoDB item:
 *
 * - per username *and* source IP: the strict one (threshold 5, lockout doubling up to 15 min). It
 *   stops a guesser without touching the victim, who logs in from another address.
 * - per username from any IP: a distributed guesser. A lockout here would let anyone lock a victim
 *   out for good, so it only slows down: threshold 20, then a delay doubling up to 60 s at most.
 * - per source IP across usernames (password spraying): threshold 100, doubling up to 15 min.
 *
 * Counters live for a window (15 min) after the last failure and then expire, so no lock is
 * permanent. A successful login clears the username+IP counter.
 */
import { TooManyRequestsError } from './errors.ts';

export interface ThrottleKey {
  readonly username: string;
  readonly sourceIp: string;
}

export type CounterKind = 'user_ip' | 'user' | 'ip';

export interface CounterState {
  readonly failures: number;
  /** Epoch ms of the last failure. */
  readonly lastFailureAt: number;
  /** Epoch ms after which the counter no longer counts. */
  readonly windowEndsAt: number;
}

export interface CounterRule {
  readonly threshold: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const WINDOW_MS = 15 * 60_000;

export const THROTTLE_RULES: Readonly<Record<CounterKind, CounterRule>> = {
  user_ip: { threshold: 5, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000 },
  user: { threshold: 20, baseDelayMs: 1_000, maxDelayMs: 60_000 },
  ip: { threshold: 100, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000 },
};

/** Epoch ms until which this counter blocks attempts, or 0. Pure. */
export function blockedUntil(kind: CounterKind, state: CounterState | undefined, nowMs: number): number {
  if (state === undefined || state.windowEndsAt <= nowMs) return 0;
  const rule = THROTTLE_RULES[kind];
  const over = state.failures - rule.threshold;
  if (over < 0) return 0;
  const delay = Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** Math.min(over, 30));
  return state.lastFailureAt + delay;
}

export interface ThrottleCounters {
  read(key: ThrottleKey): Promise<Readonly<Partial<Record<CounterKind, CounterState>>>>;
  addFailure(key: ThrottleKey, nowMs: number, windowMs: number): Promise<void>;
  clear(key: ThrottleKey, kind: CounterKind): Promise<void>;
}

/** What `assertAllowed` saw, handed back to `recordSuccess` so a clean login writes nothing. */
export interface ThrottleTicket {
  readonly hadUserIpFailures: boolean;
}

export interface LoginThrottle {
  /** Throws `TooManyRequestsError` while any counter blocks. */
  assertAllowed(key: ThrottleKey, nowMs: number): Promise<ThrottleTicket>;
  recordFailure(key: ThrottleKey, nowMs: number): Promise<void>;
  recordSuccess(key: ThrottleKey, ticket: ThrottleTicket): Promise<void>;
}

export class CountingLoginThrottle implements LoginThrottle {
  constructor(private readonly counters: ThrottleCounters) {}

  async assertAllowed(key: ThrottleKey, nowMs: number): Promise<ThrottleTicket> {
    const states = await this.counters.read(key);
    const until = Math.max(
      blockedUntil('user_ip', states.user_ip, nowMs),
      blockedUntil('user', states.user, nowMs),
      blockedUntil('ip', states.ip, nowMs),
    );
    if (until > nowMs) {
      // RFC 9110 §10.2.3: Retry-After in whole seconds, rounded up.
      throw new TooManyRequestsError('Too many failed login attempts; retry later.', Math.ceil((until - nowMs) / 1000));
    }
    return { hadUserIpFailures: (states.user_ip?.failures ?? 0) > 0 };
  }

  async recordFailure(key: ThrottleKey, nowMs: number): Promise<void> {
    await this.counters.addFailure(key, nowMs, WINDOW_MS);
  }

  async recordSuccess(key: ThrottleKey, ticket: ThrottleTicket): Promise<void> {
    if (ticket.hadUserIpFailures) await this.counters.clear(key, 'user_ip');
  }
}
