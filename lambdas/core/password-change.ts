/**
 * POST /account/password: a signed-in user changes their password.
 *
 * Order, and why:
 *  1. the caller's account, from its own live session (`core/account.ts`);
 *  2. the new password against the rules (NIST SP 800-63B-4 §3.1.1.2, `core/password-policy.ts`;
 *     8 characters suffice when the account has a second factor): a refused password costs no
 *     hash and counts no attempt, and the answer names the rule, never the password;
 *  3. the current password (`core/reauthentication.ts`: counted on the login throttle first);
 *  4. the new hash replaces the old one only if the old one is still stored (one conditional
 *     write): of two concurrent changes one wins, the other is a 409 and changes nothing;
 *  5. every OTHER session ends at once (OWASP ASVS 5 V7.4.3: a credential change ends the other
 *     sessions); the caller's own session keeps its access and refresh tokens.
 *
 * The hash is replaced before the other sessions end, so that the loser of a race never ends the
 * winner's session. If ending them fails (503), the password is already changed; the client's
 * retry of the same request then presents the old password as the current one. That retry is
 * recognised: when the current password fails, the hash was replaced in the last
 * RETRY_WINDOW_SECONDS, and the NEW password matches it, the change was already made, and the
 * request finishes step 5 and succeeds. Checking the second password counts a second attempt on
 * the throttle first, so a request that names two passwords spends two guesses, as two logins
 * would; outside the window (the usual case) a wrong current password costs one.
 */
import { ConflictError, ReauthenticationError } from './errors.ts';
import type { AccountCaller } from './account.ts';
import { callerAccount, type AccountLookupDeps } from './account.ts';
import { acceptNewPassword } from './password-policy.ts';
import type { PasswordHasher, SecondFactors, SessionStore, UserDirectory } from './ports.ts';
import { passwordMatches, reauthenticated, WRONG_PASSWORD, type ReauthenticationDeps } from './reauthentication.ts';
import { revokeOtherSessions } from './revocation.ts';
import type { RevocationLifetimes } from './token-issuance.ts';

/** How long after a change its retry is recognised: far longer than any client retries a request. */
export const RETRY_WINDOW_SECONDS = 15 * 60;

export interface PasswordChangeRequest {
  readonly currentPassword: string;
  readonly newPassword: string;
  /** Source address, for the throttle. */
  readonly sourceIp: string;
}

export interface PasswordChangeDeps extends AccountLookupDeps, ReauthenticationDeps {
  readonly users: UserDirectory;
  readonly sessions: SessionStore;
  readonly passwords: PasswordHasher;
  readonly secondFactors: SecondFactors;
  readonly config: RevocationLifetimes;
  /** The service's name, a context word a password must not be derived from. */
  readonly serviceName: string;
}

export interface PasswordChange {
  readonly sub: string;
  readonly sid: string;
  /** How many other active sessions this request ended. */
  readonly sessionsEnded: number;
}

export async function changePassword(caller: AccountCaller, request: PasswordChangeRequest, deps: PasswordChangeDeps): Promise<PasswordChange> {
  const user = await callerAccount(caller, deps);
  // callerAccount refuses a token without a session, so the caller has a sid to keep.
  const keepSid = caller.sid ?? '';
  const hasSecondFactor = await deps.secondFactors.hasSecondFactor(user.sub);
  const accepted = acceptNewPassword(request.newPassword, { username: user.username, serviceName: deps.serviceName, hasSecondFactor });

  if (await passwordMatches(user, request.currentPassword, request.sourceIp, deps)) {
    await reauthenticated(user, request.sourceIp, deps);
    const nextHash = await deps.passwords.hash(accepted);
    if (!(await deps.users.replacePasswordHash(user.username, user.passwordHash, nextHash))) {
      throw new ConflictError('The password was changed by another request at the same time; this request changed nothing.');
    }
  } else if (recentlyChanged(user, deps) && (await passwordMatches(user, request.newPassword, request.sourceIp, deps))) {
    // The retry of a change that was made already (see above): only the sessions remain to end.
    await reauthenticated(user, request.sourceIp, deps);
  } else {
    throw new ReauthenticationError(WRONG_PASSWORD);
  }
  const sessionsEnded = await revokeOtherSessions(user.sub, keepSid, deps, 'password_changed');
  return { sub: user.sub, sid: keepSid, sessionsEnded };
}

function recentlyChanged(user: { readonly passwordChangedAt?: number | undefined }, deps: Pick<PasswordChangeDeps, 'clock'>): boolean {
  return user.passwordChangedAt !== undefined && Math.floor(deps.clock.nowMs() / 1000) - user.passwordChangedAt <= RETRY_WINDOW_SECONDS;
}
