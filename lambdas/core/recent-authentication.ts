/**
 * Adding a way to sign in (a passkey, a TOTP authenticator) needs a recent sign-in, not just a
 * live session. Otherwise a stolen access token, or a session left open on a shared device, could
 * add the thief's own passkey or authenticator, and so keep access after the password is changed
 * and every session is ended. NIST SP 800-63B ("Binding an Additional Authenticator at an Existing
 * AAL") has the subscriber authenticate before another authenticator is bound; OWASP ASVS 5.0 (V6,
 * authentication) asks for re-authentication before authentication factors change. A session's `auth_time` survives its refreshes, so "recent"
 * is about the sign-in itself. An older one gets 403 `insufficient_user_authentication` with the
 * age it needed (RFC 9470 §3): the app signs the user in again, then retries.
 */
import { InsufficientUserAuthenticationError } from './errors.ts';

/** Ten minutes: long enough to sign in and then add a passkey or an authenticator app. */
export const SIGN_IN_METHOD_CHANGE_MAX_AGE_SECONDS = 600;

/** Throws unless the caller signed in at most `maxAgeSeconds` before `nowSeconds`. */
export function requireRecentSignIn(authTime: number | undefined, nowSeconds: number, maxAgeSeconds = SIGN_IN_METHOD_CHANGE_MAX_AGE_SECONDS): void {
  // No auth_time from the authorizer: we cannot tell when the user signed in, so refuse (fail closed).
  if (authTime === undefined || nowSeconds - authTime > maxAgeSeconds) {
    throw new InsufficientUserAuthenticationError(
      `Adding a sign-in method needs a sign-in within the last ${maxAgeSeconds / 60} minutes (max_age=${maxAgeSeconds}): sign in again, then retry.`,
    );
  }
}
