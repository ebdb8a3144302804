/**
 * Starting a session once a user has authenticated (password, passkey): a new refresh-token
 * family, its first refresh token and an access token. The token is signed before the family is
 * written so that a KMS failure changes nothing, and it is returned only after the write
 * succeeded: no token is ever handed out whose session is not stored (SECURITY.md).
 */
import { encode } from './base64url.ts';
import { RetryableConflictError } from './errors.ts';
import type { UserRecord } from './ports.ts';
import { mintRefreshToken, newFamilyId, newTokenKey } from './refresh-token.ts';
import { issueAccessToken, tokenResponse, type IssuerDeps, type TokenResponse } from './token-issuance.ts';

export interface SessionStart {
  readonly user: Pick<UserRecord, 'sub' | 'username'>;
  /** The granted scope, formatted (RFC 6749 §3.3). */
  readonly scope: string;
  /** How the user authenticated (RFC 8176), kept on the family for every token it mints. */
  readonly amr: readonly string[];
  /** Epoch milliseconds at which the login began (a logout-everywhere after it wins the race). */
  readonly startedMs: number;
}

export interface StartedSession {
  readonly response: TokenResponse;
  readonly sid: string;
}

export async function startSession(start: SessionStart, deps: IssuerDeps): Promise<StartedSession> {
  const { config } = deps;
  const { user, scope, amr, startedMs: nowMs } = start;
  const fid = newFamilyId((n) => deps.random.bytes(n));
  const sid = encode(deps.random.bytes(16));
  const tokenKey = newTokenKey((n) => deps.random.bytes(n));
  const refresh = mintRefreshToken(user.sub, fid, 0, tokenKey, (n) => deps.random.bytes(n));
  // Login and logout-everywhere. The authorizer denies every token of the user with
  // auth_time <= the logout's second (core/denylist-policy.ts; we issue auth_time and iat as whole
  // seconds, the NumericDate of RFC 7519 §2 that RFC 9068 §2.2 claims use and verifiers expect), so
  // a token issued earlier in that very second, before the logout, is denied too. Hence:
  //  - a logout at or after the instant this login began (milliseconds) ran while it did: a true
  //    race, which the logout wins (503, log in again);
  //  - a logout that was over before this login began, in the same second as its auth_time, is
  //    not a race: the login waits for the next second (at most one) and issues its tokens with
  //    that second as auth_time and iat, which the authorizer accepts. Comparing whole seconds
  //    here instead refused every login in the second after a logout (README: a login right
  //    after logout-everywhere succeeds), and letting the second pass without waiting would
  //    issue tokens the authorizer denies. The other option, a sub-second auth_time (NumericDate
  //    allows fractions), costs every token an unusual claim that other verifiers and libraries
  //    may reject; waiting costs at most one second, only in the second after such a logout.
  // The store checks both conditions and writes the family in one transaction.
  let nowSeconds = Math.floor(nowMs / 1000);
  for (let attempt = 1; ; attempt += 1) {
    const family = {
      sub: user.sub,
      fid,
      sid,
      username: user.username,
      scope,
      clientId: config.clientId,
      authTime: nowSeconds,
      expiresAt: nowSeconds + config.refreshTokenTtlSeconds,
      absoluteExpiresAt: nowSeconds + config.refreshAbsoluteTtlSeconds,
      generation: 0,
      amr,
    };
    const access = await issueAccessToken(family, nowSeconds, deps);
    const stored = await deps.sessions.createFamily({ ...family, tokenHash: refresh.hash, tokenKey }, { nowSeconds, loginStartedMs: nowMs });
    if (stored.outcome === 'created') return { response: tokenResponse(access, refresh.token, family, nowSeconds), sid };
    if (stored.atMs >= nowMs || attempt > 1) throw new RetryableConflictError(LOGGED_OUT_WHILE_RUNNING);
    const nextSecondMs = (stored.atSeconds + 1) * 1000;
    await deps.clock.sleep(Math.max(0, nextSecondMs - deps.clock.nowMs()));
    nowSeconds = Math.max(stored.atSeconds + 1, Math.floor(deps.clock.nowMs() / 1000));
  }
}

const LOGGED_OUT_WHILE_RUNNING = 'The user logged out everywhere while this login ran; log in again.';
