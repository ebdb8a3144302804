/**
 * Login throttling policy (OWASP Authentication Cheat Sheet, "Protect Against Automated Attacks";
 * OWASP "Blocking Brute Force Attacks"; OWASP "Slow Down Online Guessing Attacks with Device
 * Cookies").
 *
 * Untrusted sources are counted on three counters, each a TTL'd DynamoDB item:
 *
 * - per username *and* source IP: the strict one (threshold 5, lockout doubling up to 15 min). It
 *   stops a guesser without touching the victim, who logs in from another address.
 * - per username from any IP: a distributed guesser. Threshold 20, then a delay doubling up to
 *   60 s at most.
 * - per source IP across usernames (password spraying): threshold 100, doubling up to 15 min.
 *
 * Count first: every attempt is counted *before* its password is checked, by one conditional write
 * per counter that refuses past the limit, so a burst of N concurrent guesses is counted as N and
 * at most `threshold` of them are ever checked. Refused attempts are not counted (they cost no
 * hash). A correct password takes its own attempt back (it was not a guess): it clears the
 * username+IP counter and gives back one attempt on the other two. A failed attempt writes nothing
 * more: it was counted already. Counters live for a window (15 min) after the last counted attempt
 * and then expire, so no lock is permanent.
 *
 * Trusted devices: a successful login hands the client a device token (256 random bits; only its
 * SHA-256 is stored, bound to the user, for 90 days from its last successful login). A login that
 * presents a valid device token for that username is not subject to the three counters above (so
 * nobody without the password can keep the user out of a device that signed in before), only to
 * the device's own allowance: 5 attempts between correct passwords, after which the token is no
 * longer trusted (OWASP: "lock out the device cookie") and the device is an untrusted source again.
 * An unknown, expired, malformed or foreign device token is simply an untrusted source.
 */
import { encode } from './base64url.ts';
import { TooManyRequestsError } from './errors.ts';
import { hashBearerToken } from './token-hash.ts';
import type { CounterKind, CounterState, CountPlan, RandomSource, ThrottleCounters, ThrottleKey, TrustedDevices } from './ports.ts';

interface CounterRule {
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

/** Attempts a trusted device may make between correct passwords before it is no longer trusted. */
export const DEVICE_MAX_ATTEMPTS = 5;
/** A device stays trusted this long after its last successful login. */
export const DEVICE_TRUST_MS = 90 * 86_400_000;

/** Rounds of count-or-reread before giving up; each lost round means another attempt was just counted. */
const MAX_COUNT_ROUNDS = 4;

/** Epoch ms until which this counter refuses attempts, or 0. Pure. */
export function blockedUntil(kind: CounterKind, state: CounterState | undefined, nowMs: number): number {
  if (state === undefined || state.windowEndsAt <= nowMs) return 0;
  const rule = THROTTLE_RULES[kind];
  const over = state.attempts - rule.threshold;
  if (over < 0) return 0;
  const delay = Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** Math.min(over, 30));
  return state.lastAttemptAt + delay;
}

/**
 * How to count one more attempt on a counter last seen as `state`, or the epoch ms until which it
 * refuses. Pure. The plan's condition makes the write fail if the counter changed in a way that
 * matters, so two requests that saw the same state cannot both take the last free attempt.
 */
export function planCount(kind: CounterKind, state: CounterState | undefined, nowMs: number): CountPlan | { readonly blockedUntil: number } {
  if (state === undefined || state.windowEndsAt <= nowMs) return { mode: 'start' };
  const rule = THROTTLE_RULES[kind];
  if (state.attempts < rule.threshold) return { mode: 'below', threshold: rule.threshold };
  const until = blockedUntil(kind, state, nowMs);
  return until > nowMs ? { blockedUntil: until } : { mode: 'exact', seen: state };
}

/** Device tokens: 32 random bytes, base64url (43 characters). */
const DEVICE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

export interface LoginAttempt extends ThrottleKey {
  /** The device token the client presented, if any; never logged. */
  readonly deviceToken?: string;
}

/** How an attempt got in, handed back to `passed` so that it takes back exactly what was counted. */
export type Admission =
  | { readonly via: 'device'; readonly deviceHash: string; readonly deviceToken: string }
  | { readonly via: 'limits' };

export interface LoginThrottle {
  /** Counts the attempt before its password is checked; throws `TooManyRequestsError` when refused. */
  admit(attempt: LoginAttempt, nowMs: number): Promise<Admission>;
  /**
   * The password was correct: takes the attempt back and returns the device token to hand to the
   * client (the presented one, renewed, or a new one). `attempts` (default 1): how many counted
   * attempts of this login to take back from the per-user and per-IP counters; a login with a
   * second factor made two (the password step and the code, core/mfa-login.ts).
   */
  passed(attempt: LoginAttempt, admission: Admission, nowMs: number, attempts?: number): Promise<string>;
}

/**
 * Re-authentication of a signed-in user (changing the password, deleting the account) spends the
 * same allowance as login: a stolen access token must not let anyone guess the password faster
 * than /login would. It never makes or renews a device token (there is no login to remember).
 */
export interface ReauthenticationThrottle {
  /** Counts the attempt before its password is checked; throws `TooManyRequestsError` when refused. */
  admitReauthentication(key: ThrottleKey, nowMs: number): Promise<void>;
  /** The password was correct: takes the attempt back, as a correct login does. */
  passedReauthentication(key: ThrottleKey): Promise<void>;
}

function refused(untilMs: number, nowMs: number): TooManyRequestsError {
  // RFC 9110 §10.2.3: Retry-After in whole seconds, rounded up (at least 1).
  return new TooManyRequestsError('Too many failed login attempts; retry later.', Math.max(1, Math.ceil((untilMs - nowMs) / 1000)));
}

export class CountingLoginThrottle implements LoginThrottle, ReauthenticationThrottle {
  constructor(
    private readonly counters: ThrottleCounters,
    private readonly devices: TrustedDevices,
    private readonly random: RandomSource,
  ) {}

  async admit(attempt: LoginAttempt, nowMs: number): Promise<Admission> {
    const token = attempt.deviceToken;
    if (token !== undefined && DEVICE_TOKEN.test(token)) {
      const deviceHash = hashBearerToken(token);
      if (await this.devices.countAttempt(deviceHash, attempt.username, DEVICE_MAX_ATTEMPTS, nowMs)) {
        return { via: 'device', deviceHash, deviceToken: token };
      }
    }
    await this.admitUntrusted({ username: attempt.username, sourceIp: attempt.sourceIp }, nowMs);
    return { via: 'limits' };
  }

  async passed(attempt: LoginAttempt, admission: Admission, nowMs: number, attempts = 1): Promise<string> {
    const expiresAt = nowMs + DEVICE_TRUST_MS;
    if (admission.via === 'device' && (await this.devices.renew(admission.deviceHash, attempt.username, nowMs, expiresAt))) {
      return admission.deviceToken;
    }
    const token = encode(this.random.bytes(32));
    const key = { username: attempt.username, sourceIp: attempt.sourceIp };
    await Promise.all([
      this.devices.remember(hashBearerToken(token), attempt.username, expiresAt),
      ...(admission.via === 'limits'
        ? [
            this.counters.clear(key, 'user_ip'),
            ...Array.from({ length: Math.max(1, attempts) }, () => [this.counters.uncount(key, 'user'), this.counters.uncount(key, 'ip')]).flat(),
          ]
        : []),
    ]);
    return token;
  }

  async admitReauthentication(key: ThrottleKey, nowMs: number): Promise<void> {
    await this.admitUntrusted({ username: key.username, sourceIp: key.sourceIp }, nowMs);
  }

  async passedReauthentication(key: ThrottleKey): Promise<void> {
    await Promise.all([this.counters.clear(key, 'user_ip'), this.counters.uncount(key, 'user'), this.counters.uncount(key, 'ip')]);
  }

  /**
   * The per-address counters first (username+IP and IP, together), the victim's username-wide
   * counter only for attempts both let through: a burst from one address then reaches the
   * username-wide counter with at most 5 attempts, not with all of them.
   */
  private async admitUntrusted(key: ThrottleKey, nowMs: number): Promise<void> {
    const states = await this.counters.read(key);
    const already = Math.max(...(['user_ip', 'ip', 'user'] as const).map((kind) => blockedUntil(kind, states[kind], nowMs)));
    // Refused without a write while a counter already blocks: an attacker's flood costs one read.
    if (already > nowMs) throw refused(already, nowMs);

    const counted: CounterKind[] = [];
    const stage = async (kinds: readonly CounterKind[]): Promise<void> => {
      const results = await Promise.allSettled(kinds.map((kind) => this.countOne(key, kind, states[kind], nowMs)));
      let error: unknown;
      let until = 0;
      results.forEach((result, i) => {
        const kind = kinds[i];
        if (result.status === 'rejected') error ??= result.reason;
        else if (result.value > 0) until = Math.max(until, result.value);
        else if (kind !== undefined) counted.push(kind);
      });
      if (error === undefined && until === 0) return;
      // Take back what this refused attempt counted, so it never holds a place another attempt
      // could use. Best effort: if this fails the counter is one too high for its window, which
      // errs on the safe side.
      await Promise.allSettled(counted.map((kind) => this.counters.uncount(key, kind)));
      throw error ?? refused(until, nowMs);
    };
    await stage(['user_ip', 'ip']);
    await stage(['user']);
  }

  /** Counts one attempt on one counter: 0 when counted, else the epoch ms until which it refuses. */
  private async countOne(key: ThrottleKey, kind: CounterKind, seen: CounterState | undefined, nowMs: number): Promise<number> {
    let state = seen;
    for (let round = 0; round < MAX_COUNT_ROUNDS; round++) {
      const plan = planCount(kind, state, nowMs);
      if ('blockedUntil' in plan) return plan.blockedUntil;
      const result = await this.counters.count(key, kind, plan, nowMs, WINDOW_MS);
      if (result.counted) return 0;
      state = result.current;
    }
    // The counter changed under every round: other attempts are being counted right now.
    return nowMs + 1_000;
  }
}
