/**
 * POST /account/delete `{ password }` → 200 `{ deleted: true, sessions_ended }`. Re-authentication
 * and the erasure order are the core's (`core/own-account-deletion.ts`, `core/account-deletion.ts`):
 * 400 `invalid_grant` for a wrong password, 429 when the login throttle is spent, 403
 * `insufficient_user_authentication` when the account has a second factor the token does not show,
 * 503 on a fault (retrying the same request finishes the deletion).
 */
import { deleteOwnAccount } from '../core/own-account-deletion.ts';
import { audit } from '../http/audit.ts';
import { authorizedCaller } from '../http/caller.ts';
import { PASSWORD_RULE } from '../http/fields.ts';
import { jsonBody, onlyFields, requiredString, sourceIp } from '../http/request.ts';
import { json } from '../http/respond.ts';
import type { AccountRoute } from './account-handler.ts';

export const deleteAccountRoute: AccountRoute = async (event, config, deps, log) => {
  const body = jsonBody(event);
  onlyFields(body, ['password']);
  const password = requiredString(body, 'password', PASSWORD_RULE);
  const deletion = await deleteOwnAccount(authorizedCaller(event), { password, sourceIp: sourceIp(event) }, { ...deps, config: config.policy });
  audit(log, 'account_deleted', {
    sub: deletion.sub,
    sid: deletion.sid,
    by: 'user',
    sessions_ended: deletion.sessionsEnded,
    credentials_erased: deletion.credentialsErased,
  });
  return json(200, { deleted: true, sessions_ended: deletion.sessionsEnded });
};
