/**
 * Re-authentication: a signed-in user proves again that they know the password before a change
 * that an attacker holding only their access token must not make (OWASP ASVS 5 V7.5.1: changing
 * the password requires the current one; V6.3: re-authentication before sensitive operations).
 *
 * The attempt is counted on the login throttle before the password is checked, exactly as a
 * login is (`core/login-throttle.ts`), so these routes cannot guess a password any faster than
 * /login; a correct password takes its attempt back. The check itself is login's
 * (`verifyPassword`: the NFKC form first, the password as typed for a hash made before
 * normalization), so whatever signs in also re-authenticates.
 */
import { ReauthenticationError } from './errors.ts';
import { verifyPassword } from './login.ts';
import type { ReauthenticationThrottle } from './login-throttle.ts';
import type { Clock, PasswordHasher, UserRecord } from './ports.ts';

export interface ReauthenticationDeps {
  readonly passwords: PasswordHasher;
  readonly throttle: ReauthenticationThrottle;
  readonly clock: Clock;
}

const WRONG_PASSWORD = 'The current password is incorrect.';

/** True when `password` is the user's password; the attempt is counted first (429 when exhausted). */
export async function passwordMatches(user: UserRecord, password: string, sourceIp: string, deps: ReauthenticationDeps): Promise<boolean> {
  await deps.throttle.admitReauthentication({ username: user.username, sourceIp }, deps.clock.nowMs());
  return (await verifyPassword(user.passwordHash, password, deps.passwords)).passwordOk;
}

/** Takes back the attempts a correct re-authentication counted. */
export function reauthenticated(user: UserRecord, sourceIp: string, deps: ReauthenticationDeps): Promise<void> {
  return deps.throttle.passedReauthentication({ username: user.username, sourceIp });
}

/** Requires the user's current password: `ReauthenticationError` (400 `invalid_grant`) when it is wrong. */
export async function reauthenticate(user: UserRecord, password: string, sourceIp: string, deps: ReauthenticationDeps): Promise<void> {
  if (!(await passwordMatches(user, password, sourceIp, deps))) throw new ReauthenticationError(WRONG_PASSWORD);
  await reauthenticated(user, sourceIp, deps);
}

export { WRONG_PASSWORD };
