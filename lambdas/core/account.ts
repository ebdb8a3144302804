/**
 * The account behind an authenticated request. Access tokens name the user by `sub` and the
 * session by `sid`; users are stored by username, and each session (refresh-token family) records
 * the username it was opened for. So the caller's account is the one its own, still-active session
 * names, and only if that account still carries the same `sub`: a username deleted and created
 * again is another person (OpenID Connect Core §5.7: `sub` is the stable identifier, names are not).
 */
import { InvalidTokenError } from './errors.ts';
import type { Clock, SessionStore, UserDirectory, UserRecord } from './ports.ts';

export interface AccountCaller {
  readonly sub: string;
  readonly sid: string | undefined;
}

export interface AccountLookupDeps {
  readonly sessions: Pick<SessionStore, 'listFamilies'>;
  readonly users: Pick<UserDirectory, 'findUser'>;
  readonly clock: Clock;
}

/**
 * The caller's active account; a token without a live session or account is `invalid_token` (401).
 * `pendingDeletion`: also an account whose deletion began and did not finish, so that deleting it
 * again finishes the job (`core/account-deletion.ts`); no other route may use such an account.
 */
export async function callerAccount(caller: AccountCaller, deps: AccountLookupDeps, options: { readonly pendingDeletion?: boolean } = {}): Promise<UserRecord> {
  if (caller.sid === undefined) throw new InvalidTokenError('This access token belongs to no session.');
  const families = await deps.sessions.listFamilies(caller.sub, Math.floor(deps.clock.nowMs() / 1000));
  const session = families.find((family) => family.sid === caller.sid);
  if (session === undefined) throw new InvalidTokenError('The session of this access token has ended.');
  const user = await deps.users.findUser(session.username);
  const usable = user?.status === 'active' || (options.pendingDeletion === true && user?.deletionPending === true);
  if (user === undefined || user.sub !== caller.sub || !usable) {
    throw new InvalidTokenError('The account of this access token no longer exists or is disabled.');
  }
  return user;
}
