/**
 * The passkey routes of the account function: a signed-in user registers passkeys (WebAuthn
 * Level 3 §7.1), lists them and removes one. Sign-in with a passkey is the login function's
 * (`lambdas/login/passkey-login.ts`). The rules are in `core/passkeys.ts`.
 */
import { callerAccount } from '../core/account.ts';
import { requireRecentSignIn } from '../core/recent-authentication.ts';
import { InvalidRequestError, NotFoundError } from '../core/errors.ts';
import { listPasskeys, MAX_CREDENTIAL_ID_LENGTH, PASSKEY_NAME_RULE, passkeysEnabled, registerPasskey, registrationOptions } from '../core/passkeys.ts';
import type { StoredPasskey } from '../core/ports.ts';
import { audit } from '../http/audit.ts';
import { authorizedCaller } from '../http/caller.ts';
import { emptyBody, jsonBody, onlyFields, optionalString, requiredString } from '../http/request.ts';
import { json } from '../http/respond.ts';
import { registrationResponse } from '../http/webauthn-response.ts';
import type { AccountRoute } from './account-handler.ts';

/** A name shown to its owner: printable, no control characters (it ends up in lists and logs). */
const NAME_RULE = { ...PASSKEY_NAME_RULE, pattern: /^[^\p{Cc}\p{Cf}]+$/u, patternHint: 'must not contain control characters' } as const;

const CREDENTIAL_ID_RULE = { maxLength: MAX_CREDENTIAL_ID_LENGTH, pattern: /^[A-Za-z0-9_-]+$/, patternHint: 'must be a passkey id (base64url)' } as const;

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** What a client sees of a passkey: never the public key (of no use to it) nor the counter. */
function passkeyView(passkey: StoredPasskey): Record<string, unknown> {
  return {
    id: passkey.credentialId,
    name: passkey.name,
    created_at: iso(passkey.createdAt),
    ...(passkey.lastUsedAt === undefined ? {} : { last_used_at: iso(passkey.lastUsedAt) }),
    backed_up: passkey.backedUp,
    device_type: passkey.deviceType,
    transports: passkey.transports,
  };
}

/** POST /passkeys/register/options → PublicKeyCredentialCreationOptionsJSON for the caller. */
const registerOptions: AccountRoute = async (event, config, deps) => {
  const rp = passkeysEnabled(config.passkeys);
  emptyBody(event);
  const caller = authorizedCaller(event);
  requireRecentSignIn(caller.authTime, Math.floor(deps.clock.nowMs() / 1000));
  const user = await callerAccount(caller, deps);
  return json(200, await registrationOptions(user, rp, deps));
};

/** POST /passkeys/register/verify `{ response, name? }` → 201 with the new passkey. */
const registerVerify: AccountRoute = async (event, config, deps, log) => {
  const rp = passkeysEnabled(config.passkeys);
  const body = jsonBody(event);
  onlyFields(body, ['response', 'name']);
  if (!Object.hasOwn(body, 'response')) throw new InvalidRequestError('The field "response" is required.');
  const response = registrationResponse(body['response']);
  const name = optionalString(body, 'name', NAME_RULE);
  const caller = authorizedCaller(event);
  requireRecentSignIn(caller.authTime, Math.floor(deps.clock.nowMs() / 1000));
  const user = await callerAccount(caller, deps);
  const passkey = await registerPasskey(user, response, name, rp, deps);
  audit(log, 'passkey_registered', { sub: user.sub, sid: caller.sid, credential_id: passkey.credentialId });
  return json(201, passkeyView(passkey));
};

/** GET /passkeys → the caller's passkeys, oldest first. */
const list: AccountRoute = async (event, config, deps) => {
  passkeysEnabled(config.passkeys);
  emptyBody(event);
  const user = await callerAccount(authorizedCaller(event), deps);
  return json(200, { passkeys: (await listPasskeys(user.sub, deps)).map(passkeyView) });
};

/** POST /passkeys/delete `{ id }` → 200; 404 when the caller has no passkey with this id (another user's included). */
const remove: AccountRoute = async (event, config, deps, log) => {
  passkeysEnabled(config.passkeys);
  const body = jsonBody(event);
  onlyFields(body, ['id']);
  const id = requiredString(body, 'id', CREDENTIAL_ID_RULE);
  const caller = authorizedCaller(event);
  const user = await callerAccount(caller, deps);
  if (!(await deps.passkeys.remove(user.sub, id))) throw new NotFoundError('This account has no passkey with this id.');
  audit(log, 'passkey_removed', { sub: user.sub, sid: caller.sid, credential_id: id });
  return json(200, { id });
};

export const PASSKEY_ROUTES = {
  'POST /passkeys/register/options': registerOptions,
  'POST /passkeys/register/verify': registerVerify,
  'GET /passkeys': list,
  'POST /passkeys/delete': remove,
} as const satisfies Record<string, AccountRoute>;
