/**
 * POST /account/password `{ current_password, new_password }` → 200 `{ sessions_ended }`.
 * The rules and their order are the core's (`core/password-change.ts`): the new password against
 * NIST SP 800-63B-4 (400 naming the rule), the current one re-authenticated (400 `invalid_grant`
 * when wrong, 429 when the login throttle is spent), the hash replaced under an optimistic
 * condition (409 when another change won), every other session ended at once, this one kept.
 */
import { changePassword } from '../core/password-change.ts';
import { SERVICE_NAME } from '../core/password-policy.ts';
import { audit } from '../http/audit.ts';
import { authorizedCaller } from '../http/caller.ts';
import { PASSWORD_RULE } from '../http/fields.ts';
import { jsonBody, onlyFields, requiredString, sourceIp } from '../http/request.ts';
import { json } from '../http/respond.ts';
import type { AccountRoute } from './account-handler.ts';

export const changePasswordRoute: AccountRoute = async (event, config, deps, log) => {
  const body = jsonBody(event);
  onlyFields(body, ['current_password', 'new_password']);
  const currentPassword = requiredString(body, 'current_password', PASSWORD_RULE);
  const newPassword = requiredString(body, 'new_password', PASSWORD_RULE);
  const change = await changePassword(
    authorizedCaller(event),
    { currentPassword, newPassword, sourceIp: sourceIp(event) },
    { ...deps, config: config.policy, serviceName: SERVICE_NAME },
  );
  audit(log, 'password_changed', { sub: change.sub, sid: change.sid, sessions_ended: change.sessionsEnded });
  return json(200, { sessions_ended: change.sessionsEnded });
};
