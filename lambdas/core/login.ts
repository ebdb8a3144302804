/**
 * POST /login: password grant for first-party apps. Same answer and the same work for an unknown
 * user, a disabled user and a wrong password (OWASP Authentication Cheat Sheet, "Authentication and
 * Error Messages"): every path verifies one Argon2id hash.
 *
 * Order: verify → sign the access token → store the family. The token is signed before the family
 * is written so that a KMS failure changes nothing, and it is returned only after the write
 * succeeded: no token is ever handed out whose session is not stored (SECURITY.md).
 */
import { InvalidGrantError, InvalidScopeError, RetryableConflictError } from './errors.ts';
import { encode } from './base64url.ts';
import type { PasswordHasher, UserDirectory } from './ports.ts';
import { mintRefreshToken, newFamilyId } from './refresh-token.ts';
import { formatScope, grantScopes } from './scope.ts';
import { issueAccessToken, tokenResponse, type IssuerDeps, type TokenResponse } from './token-issuance.ts';
import type { LoginThrottle, ThrottleKey, ThrottleTicket } from './login-throttle.ts';

export interface LoginRequest {
  readonly username: string;
  readonly password: string;
  readonly scope?: readonly string[];
  /** Source address, for throttling; never logged with the username. */
  readonly sourceIp: string;
}

export interface LoginDeps extends IssuerDeps {
  readonly users: UserDirectory;
  readonly passwords: PasswordHasher;
  readonly throttle: LoginThrottle;
}

export interface LoginOutcome {
  readonly response: TokenResponse;
  readonly sub: string;
  readonly sid: string;
}

const BAD_CREDENTIALS = 'The username or password is incorrect.';

export async function login(request: LoginRequest, deps: LoginDeps): Promise<LoginOutcome> {
  const nowMs = deps.clock.nowMs();
  const key = { username: request.username, sourceIp: request.sourceIp };
  const ticket = await deps.throttle.assertAllowed(key, nowMs);

  const user = await deps.users.findUser(request.username);
  const phc = user?.passwordHash ?? (await deps.passwords.decoyHash);
  const passwordOk = await deps.passwords.verify(phc, request.password);
  if (user === undefined || user.status !== 'active' || !passwordOk) {
    await deps.throttle.recordFailure(key, nowMs);
    throw new InvalidGrantError(BAD_CREDENTIALS);
  }

  const granted = grantScopes(request.scope, user.scopes);
  if (granted === undefined) throw new InvalidScopeError('The requested scope exceeds the scopes granted to this user.');

  const { config } = deps;
  const fid = newFamilyId((n) => deps.random.bytes(n));
  const sid = encode(deps.random.bytes(16));
  const refresh = mintRefreshToken(user.sub, fid, (n) => deps.random.bytes(n));
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
      scope: formatScope(granted),
      clientId: config.clientId,
      authTime: nowSeconds,
      expiresAt: nowSeconds + config.refreshTokenTtlSeconds,
      absoluteExpiresAt: nowSeconds + config.refreshAbsoluteTtlSeconds,
      generation: 0,
    };
    const access = await issueAccessToken(family, nowSeconds, deps);
    const stored = await deps.sessions.createFamily({ ...family, tokenHash: refresh.hash }, { nowSeconds, loginStartedMs: nowMs });
    if (stored.outcome === 'created') {
      await finish(request, deps, key, ticket, user.username, user.passwordHash);
      return { response: tokenResponse(access, refresh.token, family, nowSeconds), sub: user.sub, sid };
    }
    if (stored.atMs >= nowMs || attempt > 1) throw new RetryableConflictError(LOGGED_OUT_WHILE_RUNNING);
    const nextSecondMs = (stored.atSeconds + 1) * 1000;
    await deps.clock.sleep(Math.max(0, nextSecondMs - deps.clock.nowMs()));
    nowSeconds = Math.max(stored.atSeconds + 1, Math.floor(deps.clock.nowMs() / 1000));
  }
}

const LOGGED_OUT_WHILE_RUNNING = 'The user logged out everywhere while this login ran; log in again.';

/** After the session is stored: clear the throttle, and upgrade an outdated hash. */
async function finish(
  request: LoginRequest,
  deps: LoginDeps,
  key: ThrottleKey,
  ticket: ThrottleTicket,
  username: string,
  passwordHash: string,
): Promise<void> {
  await deps.throttle.recordSuccess(key, ticket);

  if (deps.passwords.needsRehash(passwordHash)) {
    // The parameters changed since this hash was made: upgrade it now that we know the password.
    // Best effort: the session is stored already, so a failed upgrade must not fail a correct
    // login; the next login tries again.
    try {
      const upgraded = await deps.passwords.hash(request.password);
      await deps.users.replacePasswordHash(username, passwordHash, upgraded);
    } catch {
      // ignored on purpose, see above
    }
  }
}
