/**
 * POST /account/delete: the signed-in user deletes their own account (erasure and its order:
 * `core/account-deletion.ts`). Re-authentication first: the current password (counted on the
 * login throttle, `core/reauthentication.ts`); and when the account has a second factor, the
 * access token must show that it was used at sign-in (`amr` contains `mfa`, RFC 8176 §2), or the
 * answer is 403 `insufficient_user_authentication` (RFC 9470 §3) and nothing changes: a password
 * alone must not be enough to delete an account that a password alone cannot sign in to.
 */
import { InsufficientUserAuthenticationError } from './errors.ts';
import { callerAccount, type AccountCaller, type AccountLookupDeps } from './account.ts';
import { eraseAccount, type AccountDeletion, type AccountDeletionDeps } from './account-deletion.ts';
import type { SecondFactors } from './ports.ts';
import { reauthenticate, type ReauthenticationDeps } from './reauthentication.ts';

export interface OwnAccountDeletionRequest {
  readonly password: string;
  readonly sourceIp: string;
}

export interface OwnAccountCaller extends AccountCaller {
  /** The token's `amr` values (RFC 8176), as the authorizer passed them. */
  readonly amr: readonly string[];
}

export interface OwnAccountDeletionDeps extends Omit<AccountLookupDeps, 'sessions'>, ReauthenticationDeps, AccountDeletionDeps {
  readonly secondFactors: SecondFactors;
}

export async function deleteOwnAccount(caller: OwnAccountCaller, request: OwnAccountDeletionRequest, deps: OwnAccountDeletionDeps): Promise<AccountDeletion & { readonly sid: string }> {
  const user = await callerAccount(caller, deps, { pendingDeletion: true });
  await reauthenticate(user, request.password, request.sourceIp, deps);
  if (!caller.amr.includes('mfa') && (await deps.secondFactors.hasSecondFactor(user.sub))) {
    throw new InsufficientUserAuthenticationError('This account has a second factor: sign in with it, then delete the account with that session.');
  }
  const deletion = await eraseAccount(user, deps, [request.sourceIp]);
  return { ...deletion, sid: caller.sid ?? '' };
}
