/**
 * Starting a session once the user has authenticated, by whatever methods (password; password and
 * TOTP; a passkey): a new refresh-token family, its first refresh token and access token. The
 * methods arrive as `amr` (RFC 8176) and stay with the family, so refreshed access tokens carry
 * them, and `auth_time`, unchanged.
 *
 * Order: sign the access token, then (first round only) `beforeStore`, then store the family. A
 * KMS failure therefore changes nothing; `beforeStore` is where a second factor's one-time proof
 * is consumed, after the signature succeeded and before the session exists. The token is returned
 * only after the family write succeeded: no token is ever handed out whose session is not stored.
 */
import { encode } from './base64url.ts';
import { RetryableConflictError } from './errors.ts';
import { mintRefreshToken, newFamilyId, newTokenKey } from './refresh-token.ts';
import { formatScope } from './scope.ts';
import { issueAccessToken, tokenResponse, type IssuerDeps, type TokenResponse } from './token-issuance.ts';

export interface SessionGrant {
  readonly sub: string;
  readonly username: string;
  readonly scope: readonly string[];
  /** RFC 8176 authentication methods, e.g. `["pwd"]`, `["pwd", "otp", "mfa"]`. */
  readonly amr: readonly string[];
  /** Epoch ms at which this login began (the race rule with logout-everywhere, below). */
  readonly startedMs: number;
}

export interface StartedSession {
  readonly response: TokenResponse;
  readonly sid: string;
}

const LOGGED_OUT_WHILE_RUNNING = 'The user logged out everywhere while this login ran; log in again.';

export async function startSession(grant: SessionGrant, deps: IssuerDeps, beforeStore?: () => Promise<void>): Promise<StartedSession> {
  const { config } = deps;
  const nowMs = grant.startedMs;
  const fid = newFamilyId((n) => deps.random.bytes(n));
  const sid = encode(deps.random.bytes(16));
  const tokenKey = newTokenKey((n) => deps.random.bytes(n));
  const refresh = mintRefreshToken(grant.sub, fid, 0, tokenKey, (n) => deps.random.bytes(n));
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
      sub: grant.sub,
      fid,
      sid,
      username: grant.username,
      scope: formatScope(grant.scope),
      clientId: config.clientId,
      authTime: nowSeconds,
      expiresAt: nowSeconds + config.refreshTokenTtlSeconds,
      absoluteExpiresAt: nowSeconds + config.refreshAbsoluteTtlSeconds,
      generation: 0,
      amr: [...grant.amr],
    };
    const access = await issueAccessToken(family, nowSeconds, deps);
    if (attempt === 1 && beforeStore !== undefined) await beforeStore();
    const stored = await deps.sessions.createFamily({ ...family, tokenHash: refresh.hash, tokenKey }, { nowSeconds, loginStartedMs: nowMs });
    if (stored.outcome === 'created') return { response: tokenResponse(access, refresh.token, family, nowSeconds), sid };
    if (stored.atMs >= nowMs || attempt > 1) throw new RetryableConflictError(LOGGED_OUT_WHILE_RUNNING);
    const nextSecondMs = (stored.atSeconds + 1) * 1000;
    await deps.clock.sleep(Math.max(0, nextSecondMs - deps.clock.nowMs()));
    nowSeconds = Math.max(stored.atSeconds + 1, Math.floor(deps.clock.nowMs() / 1000));
  }
}
