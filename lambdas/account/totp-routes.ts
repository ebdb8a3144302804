/**
 * The caller's TOTP factor (RFC 6238): POST /mfa/totp/enroll, /mfa/totp/confirm, /mfa/totp/remove.
 * Rules in core/totp-enrolment.ts. The secret appears in the enrol response only; the recovery
 * codes in the confirm response only; neither is ever logged.
 */
import { callerAccount } from '../core/account.ts';
import { requireRecentSignIn } from '../core/recent-authentication.ts';
import { mfaProof } from '../core/mfa-login.ts';
import { confirmTotp, enrolTotp, removeTotp } from '../core/totp-enrolment.ts';
import { audit } from '../http/audit.ts';
import { authorizedCaller } from '../http/caller.ts';
import { MFA_CODE_RULE } from '../http/fields.ts';
import { jsonBody, onlyFields, optionalString, requiredString, sourceIp } from '../http/request.ts';
import { json } from '../http/respond.ts';
import type { AccountRoute } from './account-handler.ts';

/** An empty body is allowed (`{}` or none): the request carries nothing but the caller. */
function noFields(event: Parameters<AccountRoute>[0]): void {
  if (event.body === undefined || event.body === null || event.body === '') return;
  onlyFields(jsonBody(event), []);
}

export const enrolTotpRoute: AccountRoute = async (event, config, deps) => {
  noFields(event);
  const caller = authorizedCaller(event);
  requireRecentSignIn(caller.authTime, Math.floor(deps.clock.nowMs() / 1000));
  const user = await callerAccount(caller, deps);
  const provisioning = await enrolTotp(user, config.totpIssuer, deps);
  return json(200, { secret: provisioning.secret, otpauth_uri: provisioning.otpauthUri });
};

export const confirmTotpRoute: AccountRoute = async (event, _config, deps, log) => {
  const body = jsonBody(event);
  onlyFields(body, ['otp']);
  const otp = requiredString(body, 'otp', MFA_CODE_RULE);
  const caller = authorizedCaller(event);
  requireRecentSignIn(caller.authTime, Math.floor(deps.clock.nowMs() / 1000));
  const user = await callerAccount(caller, deps);
  const codes = await confirmTotp(user, otp, deps);
  audit(log, 'mfa_enrolled', { sub: user.sub, sid: caller.sid, factor: 'totp' });
  return json(200, { recovery_codes: codes });
};

export const removeTotpRoute: AccountRoute = async (event, _config, deps, log) => {
  const body = jsonBody(event);
  onlyFields(body, ['otp', 'recovery_code']);
  const proof = mfaProof(optionalString(body, 'otp', MFA_CODE_RULE), optionalString(body, 'recovery_code', MFA_CODE_RULE));
  const caller = authorizedCaller(event);
  const user = await callerAccount(caller, deps);
  const { usedRecoveryCode } = await removeTotp(user, proof, sourceIp(event), deps);
  if (usedRecoveryCode) audit(log, 'recovery_code_used', { sub: user.sub, sid: caller.sid });
  audit(log, 'mfa_removed', { sub: user.sub, sid: caller.sid, factor: 'totp' });
  return json(200, {});
};
