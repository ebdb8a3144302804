/**
 * Deleting an account: by its user (POST /account/delete, after re-authentication) or by the
 * operator (`delete-user`). Every session ends at once; the credentials (password hash, TOTP
 * factors, recovery codes, passkeys), the sessions and the user item are erased. What remains is
 * the user's revocation item (`DENY#SUB#<sub>`): it must keep denying the access tokens already
 * issued until the last of them has expired, and its TTL removes it after that
 * (`core/denylist-policy.ts`). A username deleted and created again is a new account with a new
 * `sub`: nothing of the old one applies to it (OpenID Connect Core §5.7).
 *
 * Order, and why a fault anywhere leaves an account nobody can use, which the same deletion,
 * run again, finishes (every step is idempotent and keyed by the old `sub`):
 *  1. mark the user item: status `disabled` and `deletionPending`, only if it still carries this
 *     `sub`. From here no login succeeds (login refuses a disabled user), yet the item stays, so a
 *     retry finds the account: the user's own retry (same access token: its session still exists
 *     and `callerAccount` accepts a pending deletion) or the operator's `delete-user`.
 *  2. erase the credentials (every item under `SUB#<sub>` except the sessions): factors,
 *     recovery codes, passkeys, pending enrolments. Done while the user item is still marked, so
 *     a half-erased account can never sign in with less than it had (e.g. without its second
 *     factor): it cannot sign in at all.
 *  3. the throttle counters of the username that can be found (user-wide, and the caller's
 *     address), so the next account of that name starts clean.
 *  4. logout everywhere: the user's revocation item denies every token with auth_time up to now,
 *     and every family is revoked: every session ends at once, here. A login that read the user
 *     item before step 1 and is still running is refused by the same entry (`core/login.ts`).
 *  5. erase the sessions (the families).
 *  6. delete the user item, only if it still carries this `sub`: the username is free again.
 * A fault in 1–3 answers 503 and the user's retry finishes; a fault in 4–6 answers 503 after the
 * sessions have ended, so only the operator's `delete-user <username>` (which finds the marked
 * item) can finish, and until then the account is disabled and unusable.
 */
import type { AccountEraser, SessionStore, ThrottleCounters, UserRecord } from './ports.ts';
import { revokeAllSessions } from './revocation.ts';
import type { IssuerDeps, RevocationLifetimes } from './token-issuance.ts';

export interface AccountDeletionDeps extends Pick<IssuerDeps, 'clock'> {
  readonly eraser: AccountEraser;
  readonly sessions: SessionStore;
  readonly throttleCounters: Pick<ThrottleCounters, 'clear'>;
  readonly config: RevocationLifetimes;
}

export interface AccountDeletion {
  readonly sub: string;
  /** Active sessions the deletion ended. */
  readonly sessionsEnded: number;
  /** Credential items erased (factors, recovery codes, passkeys, pending items). */
  readonly credentialsErased: number;
}

/** Steps 1–6 above, for an account already authorised for deletion. `sourceIps`: addresses whose username+IP counters to clear. */
export async function eraseAccount(user: UserRecord, deps: AccountDeletionDeps, sourceIps: readonly string[] = []): Promise<AccountDeletion> {
  // False when the item no longer carries this sub (deleted by a concurrent deletion, perhaps
  // already created again): every later step is keyed by the old sub and leaves a new account alone.
  await deps.eraser.markDeletion(user.username, user.sub);
  const credentialsErased = await deps.eraser.erasePartition(user.sub, 'credentials');
  await Promise.all([
    deps.throttleCounters.clear({ username: user.username, sourceIp: '' }, 'user'),
    ...sourceIps.map((sourceIp) => deps.throttleCounters.clear({ username: user.username, sourceIp }, 'user_ip')),
  ]);
  const sessionsEnded = await revokeAllSessions(user.sub, deps, 'account_deleted');
  await deps.eraser.erasePartition(user.sub, 'sessions');
  await deps.eraser.deleteUser(user.username, user.sub);
  return { sub: user.sub, sessionsEnded, credentialsErased };
}
