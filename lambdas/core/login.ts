/**
 * POST /login: password grant for first-party apps. Same answer and the same work for an unknown
 * user, a disabled user and a wrong password (OWASP Authentication Cheat Sheet, "Authentication and
 * Error Messages"): every path verifies one Argon2id hash.
 *
 * Order: count the attempt (throttle) → verify → take the attempt back and renew or issue the
 * device token → sign the access token → store the family. The attempt is counted before the hash
 * so that a burst of concurrent guesses is counted in full before any is checked (SPEC.md). The
 * token is signed before the family is written so that a KMS failure changes nothing, and it is
 * returned only after the write succeeded: no token is ever handed out whose session is not stored
 * (SPEC.md). A device token stored for a login that then fails is never seen by anyone and expires.
 */
import { InvalidGrantError, InvalidScopeError } from './errors.ts';
import { encode } from './base64url.ts';
import type { PasswordHasher, UserDirectory } from './ports.ts';
import { mintRefreshToken, newFamilyId } from './refresh-token.ts';
import { formatScope, grantScopes } from './scope.ts';
import { issueAccessToken, tokenResponse, type IssuerDeps, type TokenResponse } from './token-issuance.ts';
import type { LoginThrottle } from './login-throttle.ts';

export interface LoginRequest {
  readonly username: string;
  readonly password: string;
  readonly scope?: readonly string[];
  /** Source address, for throttling; never logged with the username. */
  readonly sourceIp: string;
  /** The device token the client presented (body or cookie), if any; never logged. */
  readonly deviceToken?: string;
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
  /** Device token for the client to present at its next login (the presented one, renewed, or new). */
  readonly deviceToken: string;
}

const BAD_CREDENTIALS = 'The username or password is incorrect.';

export async function login(request: LoginRequest, deps: LoginDeps): Promise<LoginOutcome> {
  const nowMs = deps.clock.nowMs();
  const attempt = {
    username: request.username,
    sourceIp: request.sourceIp,
    ...(request.deviceToken === undefined ? {} : { deviceToken: request.deviceToken }),
  };
  const admission = await deps.throttle.admit(attempt, nowMs);

  const user = await deps.users.findUser(request.username);
  const phc = user?.passwordHash ?? (await deps.passwords.decoyHash);
  const passwordOk = await deps.passwords.verify(phc, request.password);
  // A failure writes nothing more: the attempt was counted by `admit`.
  if (user === undefined || user.status !== 'active' || !passwordOk) throw new InvalidGrantError(BAD_CREDENTIALS);
  const deviceToken = await deps.throttle.passed(attempt, admission, nowMs);

  const granted = grantScopes(request.scope, user.scopes);
  if (granted === undefined) throw new InvalidScopeError('The requested scope exceeds the scopes granted to this user.');

  const { config } = deps;
  const nowSeconds = Math.floor(nowMs / 1000);
  const fid = newFamilyId((n) => deps.random.bytes(n));
  const family = {
    sub: user.sub,
    fid,
    sid: encode(deps.random.bytes(16)),
    username: user.username,
    scope: formatScope(granted),
    clientId: config.clientId,
    authTime: nowSeconds,
    expiresAt: nowSeconds + config.refreshTokenTtlSeconds,
    absoluteExpiresAt: nowSeconds + config.refreshAbsoluteTtlSeconds,
    generation: 0,
  };
  const refresh = mintRefreshToken(user.sub, fid, (n) => deps.random.bytes(n));
  const access = await issueAccessToken(family, nowSeconds, deps);
  await deps.sessions.createFamily({ ...family, tokenHash: refresh.hash }, nowSeconds);

  if (deps.passwords.needsRehash(user.passwordHash)) {
    // The parameters changed since this hash was made: upgrade it now that we know the password.
    // Best effort: the session is stored already, so a failed upgrade must not fail a correct
    // login; the next login tries again.
    try {
      const upgraded = await deps.passwords.hash(request.password);
      await deps.users.replacePasswordHash(user.username, user.passwordHash, upgraded);
    } catch {
      // ignored on purpose, see above
    }
  }
  return { response: tokenResponse(access, refresh.token, family, nowSeconds), sub: user.sub, sid: family.sid, deviceToken };
}
