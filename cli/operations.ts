/**
 * Operator actions, shared by the admin CLI and `npm start` (demo user). They go through the same
 * adapters as the Lambdas, so a user created here is exactly what login reads.
 */
import { randomUUID } from 'node:crypto';
import type { RevocationLifetimes } from '../lambdas/core/token-issuance.ts';
import { InvalidRequestError } from '../lambdas/core/errors.ts';
import { acceptNewPassword, SERVICE_NAME } from '../lambdas/core/password-policy.ts';
import type { PasswordHasher, RefreshFamily, StoredPasskey, UserRecord } from '../lambdas/core/ports.ts';
import { eraseAccount, type AccountDeletion } from '../lambdas/core/account-deletion.ts';
import { listPasskeys as listUserPasskeys } from '../lambdas/core/passkeys.ts';
import { revokeAllSessions, revokeSessionBySid } from '../lambdas/core/revocation.ts';
import { isScopeToken } from '../lambdas/core/scope.ts';
import type { Stores } from '../lambdas/adapters/runtime.ts';
import { systemClock } from '../lambdas/adapters/runtime.ts';
import { USERNAME_RULE } from '../lambdas/http/fields.ts';

export interface OperatorDeps {
  readonly stores: Stores;
  readonly passwords: PasswordHasher;
  /** Only the lifetimes matter here (how long denylist entries must live). */
  readonly config: RevocationLifetimes;
}

const now = (): number => Math.floor(systemClock.nowMs() / 1000);

function normalizeUsername(username: string): string {
  if (username.length === 0 || username.length > USERNAME_RULE.maxLength || !USERNAME_RULE.pattern.test(username)) {
    throw new InvalidRequestError(`Username ${USERNAME_RULE.patternHint}, 1–${USERNAME_RULE.maxLength} characters.`);
  }
  return username.toLowerCase();
}

function validateScopes(scopes: readonly string[]): string[] {
  for (const scope of scopes) if (!isScopeToken(scope)) throw new InvalidRequestError(`Invalid scope name "${scope}".`);
  return [...new Set(scopes)];
}

async function requireUser(deps: OperatorDeps, username: string) {
  const user = await deps.stores.users.findUser(normalizeUsername(username));
  if (user === undefined) throw new InvalidRequestError(`No user "${username}".`);
  return user;
}

export { SERVICE_NAME };

/**
 * The new-password rules (core/password-policy.ts), checked before anything is written; returns
 * the NFKC-normalized password to hash. An account with a TOTP factor may have an 8-character
 * password, any other needs 15 (NIST SP 800-63B-4 §3.1.1.2).
 */
function acceptPassword(username: string, password: string, hasSecondFactor: boolean): string {
  return acceptNewPassword(password, { username, serviceName: SERVICE_NAME, hasSecondFactor });
}

export async function createUser(deps: OperatorDeps, username: string, password: string, scopes: readonly string[]): Promise<string> {
  const normalizedUsername = normalizeUsername(username);
  const validScopes = validateScopes(scopes);
  // A user being created has no second factor yet.
  const accepted = acceptPassword(normalizedUsername, password, false);
  const sub = randomUUID();
  const created = await deps.stores.users.createUser(
    {
      username: normalizedUsername,
      sub,
      passwordHash: await deps.passwords.hash(accepted),
      scopes: validScopes,
      status: 'active',
    },
    now(),
  );
  if (!created) throw new InvalidRequestError(`User "${username}" already exists.`);
  return sub;
}

const operatorRuntime = (deps: OperatorDeps) => ({
  config: deps.config,
  sessions: deps.stores.sessions,
  clock: systemClock,
});

/** Disables the user and ends every session at once. */
export async function disableUser(deps: OperatorDeps, username: string): Promise<number> {
  const user = await requireUser(deps, username);
  await deps.stores.users.updateUser(user.username, { status: 'disabled' }, now());
  return revokeAllSessions(user.sub, operatorRuntime(deps), 'user_disabled');
}

export async function enableUser(deps: OperatorDeps, username: string): Promise<void> {
  const user = await requireUser(deps, username);
  // A deletion that a fault interrupted has erased part of the account (its second factor,
  // perhaps): enabling it would let it sign in with less than it had. It can only be finished.
  if (user.deletionPending === true) throw new InvalidRequestError(`User "${username}" is being deleted; finish with delete-user.`);
  await deps.stores.users.updateUser(user.username, { status: 'active' }, now());
}

/**
 * Sets the user's scopes. Sessions keep the scopes they were granted at login (a family's scope is
 * fixed), so a reduction is only complete once they end: pass `revokeSessions` to end them now.
 */
export async function setScopes(deps: OperatorDeps, username: string, scopes: readonly string[], revokeSessions: boolean): Promise<number> {
  const user = await requireUser(deps, username);
  await deps.stores.users.updateUser(user.username, { scopes: validateScopes(scopes) }, now());
  return revokeSessions ? revokeAllSessions(user.sub, operatorRuntime(deps), 'admin') : 0;
}

export async function setPassword(deps: OperatorDeps, username: string, password: string): Promise<number> {
  // Every rule but the length needs no read: a password that breaks one is refused before any
  // DynamoDB call. The minimum length depends on whether the account has a second factor.
  acceptPassword(normalizeUsername(username), password, true);
  const user = await requireUser(deps, username);
  const hasSecondFactor = await deps.stores.secondFactors.hasSecondFactor(user.sub);
  const accepted = acceptPassword(user.username, password, hasSecondFactor);
  await deps.stores.users.updateUser(user.username, { passwordHash: await deps.passwords.hash(accepted) }, now());
  // A password change ends every session (OWASP Session Management Cheat Sheet, "Renew the Session ID").
  return revokeAllSessions(user.sub, operatorRuntime(deps), 'admin');
}

/**
 * Deletes the account the way its user would (`core/account-deletion.ts`): every session ends at
 * once, then the credentials, sessions and user item are erased; the revocation item stays until
 * the tokens it denies have expired. Also finishes a deletion that a fault interrupted.
 */
export async function deleteUser(deps: OperatorDeps, username: string): Promise<AccountDeletion> {
  const user = await requireUser(deps, username);
  const { eraser, sessions, throttleCounters } = deps.stores;
  return eraseAccount(user, { eraser, sessions, throttleCounters, config: deps.config, clock: systemClock });
}

/** Every user (username, sub, scopes, status), sorted by username; never a password hash. */
export async function listUsers(deps: OperatorDeps): Promise<readonly Omit<UserRecord, 'passwordHash'>[]> {
  const users: Omit<UserRecord, 'passwordHash'>[] = [];
  for await (const user of deps.stores.users.listUsers()) users.push(user);
  return users.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
}

export async function listSessions(deps: OperatorDeps, username: string): Promise<readonly RefreshFamily[]> {
  const user = await requireUser(deps, username);
  return deps.stores.sessions.listFamilies(user.sub, now());
}

export async function revokeSession(deps: OperatorDeps, username: string, sid: string): Promise<boolean> {
  const user = await requireUser(deps, username);
  return revokeSessionBySid(user.sub, sid, operatorRuntime(deps), 'admin');
}

export async function revokeAll(deps: OperatorDeps, username: string): Promise<number> {
  const user = await requireUser(deps, username);
  return revokeAllSessions(user.sub, operatorRuntime(deps), 'admin');
}

/**
 * Removes the user's TOTP factor, its recovery codes and any pending enrolment (a user who lost
 * the authenticator and the codes). Sessions are kept: the operator decides separately whether to
 * end them (`revoke-all`). Returns the user's sub and whether a factor was on.
 */
export async function resetMfa(deps: OperatorDeps, username: string): Promise<{ sub: string; removed: boolean }> {
  const user = await requireUser(deps, username);
  return { sub: user.sub, removed: await deps.stores.secondFactors.resetTotp(user.sub) };
}

/** The user's passkeys, oldest first (id, name, dates, backup state; the public key is of no use here). */
export async function listPasskeys(deps: OperatorDeps, username: string): Promise<readonly StoredPasskey[]> {
  const user = await requireUser(deps, username);
  return listUserPasskeys(user.sub, deps.stores);
}

/** Removes one passkey of the user: signing in with it is refused from now on. False: no such passkey. */
export async function removePasskey(deps: OperatorDeps, username: string, credentialId: string): Promise<boolean> {
  const user = await requireUser(deps, username);
  return deps.stores.passkeys.remove(user.sub, credentialId);
}
