/**
 * POST /login: password grant for first-party apps. Same answer and the same work for an unknown
 * user, a disabled user and a wrong password (OWASP Authentication Cheat Sheet, "Authentication and
 * Error Messages"): every path verifies one Argon2id hash.
 *
 * Order: count the attempt (throttle) → verify → take the attempt back and renew or issue the
 * device token → sign the access token → store the family (`core/session-start.ts`). The attempt is counted before the hash
 * so that a burst of concurrent guesses is counted in full before any is checked (SECURITY.md,
 * "Login throttling"). The token is signed before the family is written so that a KMS failure
 * changes nothing, and it is returned only after the write succeeded: no token is ever handed out
 * whose session is not stored (SECURITY.md). A device token stored for a login that then fails is
 * never seen by anyone and expires.
 */
import { InvalidGrantError, InvalidScopeError } from './errors.ts';
import type { PasswordHasher, UserDirectory } from './ports.ts';
import { formatScope, grantScopes } from './scope.ts';
import { normalizePassword } from './password-normalization.ts';
import { PASSWORD_AMR, type IssuerDeps, type TokenResponse } from './token-issuance.ts';
import { startSession } from './session-start.ts';
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

interface LoginOutcome {
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
  const { passwordOk, storedUnnormalized } = await verifyPassword(phc, request.password, deps.passwords);
  // A failure writes nothing more: the attempt was counted by `admit`.
  if (user === undefined || user.status !== 'active' || !passwordOk) throw new InvalidGrantError(BAD_CREDENTIALS);
  const deviceToken = await deps.throttle.passed(attempt, admission, nowMs);

  const granted = grantScopes(request.scope, user.scopes);
  if (granted === undefined) throw new InvalidScopeError('The requested scope exceeds the scopes granted to this user.');

  const session = await startSession({ user, scope: formatScope(granted), amr: PASSWORD_AMR, startedMs: nowMs }, deps);
  await upgradeOutdatedHash(request, deps, user.username, user.passwordHash, storedUnnormalized);
  return { response: session.response, sub: user.sub, sid: session.sid, deviceToken };
}

/**
 * Passwords are hashed NFKC-normalized (core/password-normalization.ts, NIST SP 800-63B-4 §3.1.1.2), so
 * the normalized form is tried first. A hash made before normalization, of a password that NFKC
 * changes, verifies only with the password as typed: that is tried second, and only when NFKC
 * changed the input, which depends on the password typed and not on the user, so an unknown user
 * still costs the same as a known one. Such a hash is re-hashed normalized after the login.
 * ASCII passwords are unchanged by NFKC: their hashes verify at the first try, as before.
 */
async function verifyPassword(phc: string, typed: string, passwords: PasswordHasher): Promise<{ passwordOk: boolean; storedUnnormalized: boolean }> {
  const normalized = normalizePassword(typed);
  if (await passwords.verify(phc, normalized)) return { passwordOk: true, storedUnnormalized: false };
  if (normalized === typed) return { passwordOk: false, storedUnnormalized: false };
  const passwordOk = await passwords.verify(phc, typed);
  return { passwordOk, storedUnnormalized: passwordOk };
}

/** After the session is stored: upgrade an outdated hash (old parameters, or not normalized). */
async function upgradeOutdatedHash(request: LoginRequest, deps: LoginDeps, username: string, passwordHash: string, storedUnnormalized: boolean): Promise<void> {
  if (storedUnnormalized || deps.passwords.needsRehash(passwordHash)) {
    // The parameters changed since this hash was made, or it was made of the password as typed
    // rather than its NFKC form: upgrade it now that we know the password.
    // Best effort: the session is stored already, so a failed upgrade must not fail a correct
    // login; the next login tries again.
    try {
      const upgraded = await deps.passwords.hash(normalizePassword(request.password));
      await deps.users.replacePasswordHash(username, passwordHash, upgraded);
    } catch {
      // ignored on purpose, see above
    }
  }
}
