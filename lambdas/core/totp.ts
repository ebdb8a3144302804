/**
 * TOTP (RFC 6238) as authenticator apps implement it: HMAC-SHA-1, 6 digits, 30-second steps
 * (RFC 6238 §4 defaults, and the only parameters Google Authenticator and most apps honour from
 * an `otpauth://` URI), computed by the maintained `otpauth` library rather than by hand.
 *
 * - The secret is 20 random bytes: RFC 4226 §4 R6 requires at least 128 bits and recommends 160,
 *   the HMAC-SHA-1 block it keys.
 * - A code is accepted in the current step or one step either side (RFC 6238 §5.2 recommends at
 *   most one step of network delay), and the step it matched is returned, so the caller can
 *   accept each step once (§5.2: "the verifier MUST NOT accept the second attempt of the same
 *   OTP after the successful validation has been issued for the first OTP").
 */
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
export const TOTP_ALGORITHM = 'SHA1';
/** Steps accepted either side of the current one. */
export const TOTP_WINDOW = 1;
export const TOTP_SECRET_BYTES = 20;

const CODE = /^\d{6}$/;

function totp(secret: Uint8Array, issuer = '', label = 'user'): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: new Secret({ buffer: Uint8Array.from(secret).buffer }),
  });
}

/** What an authenticator app needs: the base32 secret and the `otpauth://totp/...` URI (Key Uri Format). */
export function totpProvisioning(secret: Uint8Array, issuer: string, account: string): { readonly secret: string; readonly otpauthUri: string } {
  const generator = totp(secret, issuer, account);
  return { secret: generator.secret.base32, otpauthUri: generator.toString() };
}

/** The time step (RFC 6238 §4.2, T) at `nowMs`. */
export function timeStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
}

/**
 * The step whose code `code` is, within the window around `nowMs`, or `undefined`. Anything but
 * six ASCII digits matches nothing.
 */
export function matchingStep(secret: Uint8Array, code: string, nowMs: number): number | undefined {
  if (!CODE.test(code)) return undefined;
  const delta = totp(secret).validate({ token: code, timestamp: nowMs, window: TOTP_WINDOW });
  return delta === null ? undefined : timeStep(nowMs) + delta;
}
