/**
 * Passkeys (WebAuthn Level 3 discoverable credentials) as a first factor. The ceremonies are
 * SimpleWebAuthn's (`@simplewebauthn/server`: option generation, attestation and assertion
 * verification); the rules around them are ours:
 *
 * - Challenges are random (32 bytes, WebAuthn §13.4.3), live at most CHALLENGE_TTL_SECONDS, are
 *   bound to their ceremony (registration for one user, or sign-in) and are consumed by one
 *   conditional delete BEFORE the response is verified, so one challenge verifies at most one
 *   response however many arrive at once, and a failed attempt burns it too.
 * - The challenge is found from the response itself (`clientDataJSON.challenge`, which the
 *   authenticator signs), so a client needs no separate challenge id.
 * - User verification is required in both ceremonies (WebAuthn §7.1 step 15, §7.2 step 17): a
 *   passkey replaces the password, so possession alone is not enough.
 * - The user is the one the credential names (`userHandle`, which we set to the bytes of the
 *   `sub` at registration), and the credential is looked up under that user only: a credential id
 *   of another user, or a userHandle naming someone else, finds nothing.
 * - The signature counter (WebAuthn §6.1.1) must grow whenever either side counts; the store
 *   writes it with a condition, so a cloned authenticator replaying an old count is refused even
 *   when it races the genuine one.
 */
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * SimpleWebAuthn, loaded on the first passkey request: it is most of the login function's bundle,
 * and evaluating it at every cold start would slow down password logins too.
 */
const webauthn = () => import('@simplewebauthn/server');
import { decodeCanonical } from './base64url.ts';
import type { PasskeyConfig } from './config.ts';
import { InvalidGrantError, InvalidRequestError, NotFoundError } from './errors.ts';
import type { Clock, PasskeyStore, RandomSource, StoredPasskey, UserDirectory, UserRecord, WebAuthnChallenges } from './ports.ts';

/**
 * Passkeys need a relying party; without one (lambdas/config/passkeys.ts: no RP ID configured and
 * none derivable from the issuer) their routes do not exist: 404, saying why.
 */
export function passkeysEnabled(config: PasskeyConfig | undefined): PasskeyConfig {
  if (config === undefined) throw new NotFoundError('Passkeys are not enabled on this service (no WebAuthn relying party ID is configured).');
  return config;
}

/** How long a challenge is accepted: the ceremony's `timeout`, and the stored item's TTL. */
export const CHALLENGE_TTL_SECONDS = 300;

/** Challenges we issue are 32 random bytes: 43 base64url characters. Anything else is not ours. */
const CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Credential ids are the sort key of the stored passkey; DynamoDB sort keys are at most 1024 bytes.
 * Authenticators make ids of 16–128 bytes in practice; up to 512 bytes (683 characters) are accepted.
 */
export const MAX_CREDENTIAL_ID_LENGTH = 683;

/** EdDSA, ES256, RS256 (COSE algorithm ids, RFC 9053): SimpleWebAuthn's defaults, stated once for both calls. */
const SUPPORTED_ALGORITHMS = [-8, -7, -257];

export const PASSKEY_NAME_RULE = { maxLength: 64 } as const;

export interface PasskeyDeps {
  readonly passkeys: PasskeyStore;
  readonly challenges: WebAuthnChallenges;
  readonly clock: Clock;
  readonly random: RandomSource;
}

export interface PasskeyLoginDeps extends PasskeyDeps {
  readonly users: Pick<UserDirectory, 'findUser'>;
}

const nowSeconds = (clock: Clock): number => Math.floor(clock.nowMs() / 1000);

/** The user handle of a user's passkeys: the bytes of its `sub` (stable, and not personal data, WebAuthn §14.6.1). */
const userHandleOf = (sub: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(sub, 'utf8'));

/** A fresh challenge: 32 random bytes (WebAuthn §13.4.3 asks for at least 16). */
const newChallenge = (deps: PasskeyDeps): Uint8Array<ArrayBuffer> => new Uint8Array(deps.random.bytes(32));

/** The options for `navigator.credentials.create()` (WebAuthn §5.4), for a signed-in user. */
export async function registrationOptions(user: UserRecord, config: PasskeyConfig, deps: PasskeyDeps): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await deps.passkeys.list(user.sub);
  const { generateRegistrationOptions } = await webauthn();
  const options = await generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpId,
    userName: user.username,
    userDisplayName: user.username,
    userID: userHandleOf(user.sub),
    challenge: newChallenge(deps),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    // No attestation: we do not restrict which authenticators users may choose (WebAuthn §5.4.7).
    attestationType: 'none',
    // An authenticator that already holds one of the user's passkeys refuses to make another (§5.4.3).
    excludeCredentials: existing.map((passkey) => ({ id: passkey.credentialId, transports: [...passkey.transports] })),
    // A discoverable credential (sign-in without a username) that verifies the user.
    authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
    supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
  });
  await deps.challenges.issue(options.challenge, { purpose: 'registration', sub: user.sub }, nowSeconds(deps.clock) + CHALLENGE_TTL_SECONDS);
  return options;
}

/** Verifies a registration response (WebAuthn §7.1) and stores the new passkey. */
export async function registerPasskey(
  user: UserRecord,
  response: RegistrationResponseJSON,
  name: string | undefined,
  config: PasskeyConfig,
  deps: PasskeyDeps,
): Promise<StoredPasskey> {
  const challenge = signedChallenge(response.response.clientDataJSON, (description) => new InvalidRequestError(description));
  const now = nowSeconds(deps.clock);
  if (!(await deps.challenges.consume(challenge, { purpose: 'registration', sub: user.sub }, now))) {
    throw new InvalidRequestError('The registration challenge is unknown, already used or expired; ask for new options.');
  }
  const { verifyRegistrationResponse } = await webauthn();
  let info;
  try {
    const verification = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...config.origins],
      expectedRPID: config.rpId,
      requireUserPresence: true,
      requireUserVerification: true,
      supportedAlgorithmIDs: SUPPORTED_ALGORITHMS,
    });
    if (!verification.verified) throw new Error('not verified');
    info = verification.registrationInfo;
  } catch (error) {
    throw new InvalidRequestError(`The passkey could not be verified: ${reason(error)}`, error);
  }
  if (info.credential.id.length > MAX_CREDENTIAL_ID_LENGTH) {
    throw new InvalidRequestError(`The passkey's credential id is longer than ${MAX_CREDENTIAL_ID_LENGTH} characters.`);
  }
  const passkey: StoredPasskey = {
    sub: user.sub,
    credentialId: info.credential.id,
    publicKey: info.credential.publicKey,
    counter: info.credential.counter,
    transports: info.credential.transports ?? [],
    backedUp: info.credentialBackedUp,
    deviceType: info.credentialDeviceType,
    username: user.username,
    name: name ?? defaultName(now),
    createdAt: now,
    lastUsedAt: undefined,
  };
  if (!(await deps.passkeys.add(passkey))) throw new InvalidRequestError('This passkey is already registered to this account.');
  return passkey;
}

/** The options for `navigator.credentials.get()` (WebAuthn §5.5): no allowCredentials, any of the RP's passkeys. */
export async function authenticationOptions(config: PasskeyConfig, deps: PasskeyDeps): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { generateAuthenticationOptions } = await webauthn();
  const options = await generateAuthenticationOptions({
    rpID: config.rpId,
    challenge: newChallenge(deps),
    timeout: CHALLENGE_TTL_SECONDS * 1000,
    userVerification: 'required',
  });
  await deps.challenges.issue(options.challenge, { purpose: 'authentication' }, nowSeconds(deps.clock) + CHALLENGE_TTL_SECONDS);
  return options;
}

export interface PasskeySignIn {
  readonly user: UserRecord;
  readonly credentialId: string;
  readonly amr: readonly string[];
}

const SIGN_IN_REFUSED = 'The passkey sign-in could not be verified.';

/**
 * Verifies an assertion (WebAuthn §7.2) of a discoverable credential and names its user. Every
 * refusal is 401 `invalid_grant`; the challenge is spent either way.
 */
export async function authenticateWithPasskey(
  response: AuthenticationResponseJSON,
  expectedChallenge: string | undefined,
  config: PasskeyConfig,
  deps: PasskeyLoginDeps,
): Promise<PasskeySignIn> {
  const refuse = (description: string) => new InvalidGrantError(description);
  const challenge = signedChallenge(response.response.clientDataJSON, refuse);
  if (expectedChallenge !== undefined && expectedChallenge !== challenge) throw refuse('The response was made for another challenge than challenge_id.');
  const now = nowSeconds(deps.clock);
  if (!(await deps.challenges.consume(challenge, { purpose: 'authentication' }, now))) {
    throw refuse('The sign-in challenge is unknown, already used or expired; ask for new options.');
  }
  const sub = subOfUserHandle(response.response.userHandle);
  if (sub === undefined) throw refuse('The passkey did not name its user (userHandle); sign in with a discoverable passkey.');
  // Longer ids are never stored (see registerPasskey), and would exceed DynamoDB's key size.
  if (response.id.length > MAX_CREDENTIAL_ID_LENGTH) throw refuse(SIGN_IN_REFUSED);
  const passkey = await deps.passkeys.find(sub, response.id);
  if (passkey === undefined) throw refuse(SIGN_IN_REFUSED);
  const { verifyAuthenticationResponse } = await webauthn();
  let info;
  try {
    const verification = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: [...config.origins],
      expectedRPID: config.rpId,
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(passkey.publicKey), counter: passkey.counter, transports: [...passkey.transports] },
      requireUserVerification: true,
    });
    if (!verification.verified) throw new Error('not verified');
    info = verification.authenticationInfo;
  } catch (error) {
    throw new InvalidGrantError(`${SIGN_IN_REFUSED} ${reason(error)}`, error);
  }
  const user = await deps.users.findUser(passkey.username);
  if (user === undefined || user.sub !== sub || user.status !== 'active') throw refuse(SIGN_IN_REFUSED);
  if (!(await deps.passkeys.recordUse(sub, passkey.credentialId, { counter: info.newCounter, backedUp: info.credentialBackedUp, nowSeconds: now }))) {
    throw refuse(`${SIGN_IN_REFUSED} Its signature counter did not increase (a cloned authenticator?), or it was removed.`);
  }
  return { user, credentialId: passkey.credentialId, amr: passkeyAmr(info.credentialBackedUp) };
}

/**
 * The `amr` of a passkey sign-in (RFC 8176 §2):
 * - `hwk` (proof of possession of a hardware-secured key) for a credential that is not backed up:
 *   its private key never leaves the authenticator; `swk` (software-secured key) for a backed-up,
 *   synced credential, whose key also lives in a cloud keychain;
 * - `user` (user presence), which every assertion we accept proves (UP flag);
 * - `mfa`: we require user verification (UV flag: a PIN or biometric checked by the
 *   authenticator), so a sign-in proves possession of the key and something the user knows or
 *   is: a multi-factor cryptographic authenticator (NIST SP 800-63B-4, AAL2). Routes that
 *   require `mfa` therefore accept a passkey sign-in as they accept password + one-time code.
 */
export function passkeyAmr(backedUp: boolean): readonly string[] {
  return [backedUp ? 'swk' : 'hwk', 'user', 'mfa'];
}

/** The user's passkeys, for listing (never the public key: it is of no use to the client). */
export async function listPasskeys(sub: string, deps: Pick<PasskeyDeps, 'passkeys'>): Promise<readonly StoredPasskey[]> {
  return [...(await deps.passkeys.list(sub))].sort((a, b) => a.createdAt - b.createdAt || a.credentialId.localeCompare(b.credentialId));
}

/**
 * The challenge inside `clientDataJSON` (WebAuthn §5.8.1), which the authenticator's signature
 * covers; only its shape is checked here, SimpleWebAuthn compares it with the one consumed.
 */
function signedChallenge(clientDataJSON: string, refuse: (description: string) => Error): string {
  const bytes = decodeCanonical(clientDataJSON);
  let clientData: unknown;
  try {
    clientData = bytes === undefined ? undefined : JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    clientData = undefined;
  }
  const challenge = typeof clientData === 'object' && clientData !== null && 'challenge' in clientData ? clientData.challenge : undefined;
  if (typeof challenge !== 'string' || !CHALLENGE_PATTERN.test(challenge)) {
    throw refuse('The response\'s clientDataJSON carries no challenge this service issued.');
  }
  return challenge;
}

/** The `sub` a userHandle names: UTF-8 bytes of a sub, or `undefined`. */
function subOfUserHandle(userHandle: string | undefined): string | undefined {
  if (userHandle === undefined) return undefined;
  const bytes = decodeCanonical(userHandle);
  if (bytes === undefined || bytes.length === 0 || bytes.length > 64) return undefined;
  try {
    const sub = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /^[A-Za-z0-9._:-]+$/.test(sub) ? sub : undefined;
  } catch {
    return undefined;
  }
}

function defaultName(now: number): string {
  return `Passkey added ${new Date(now * 1000).toISOString().slice(0, 10)}`;
}

/** SimpleWebAuthn's sentence (origins, RP ID, flags; never key material), or the error's name. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : 'unknown error';
}
