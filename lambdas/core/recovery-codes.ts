/**
 * Recovery codes: ten one-time codes shown once at TOTP enrolment, for a user who lost the
 * authenticator (NIST SP 800-63B-4 "look-up secrets"). Each is 80 random bits written as 16
 * Crockford base32 characters in groups of four (`7K3M-Q9TX-…`), read back ignoring case, spaces
 * and hyphens, with the letters I, L and O taken as the digits they look like.
 *
 * Stored as SHA-256 only. A slow, salted hash protects guessable secrets (passwords); a code of
 * 80 random bits cannot be guessed from its hash (2^80 candidates per code, whatever the hash
 * costs), so a fast hash loses nothing, as with refresh tokens (core/token-hash.ts), and keeps
 * the check to one keyed lookup.
 */
import { createHash } from 'node:crypto';

export const RECOVERY_CODE_COUNT = 10;
const CODE_BYTES = 10;
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31] ?? '';
      bits -= 5;
    }
  }
  return out;
}

/** Ten new codes, as shown to the user. */
export function newRecoveryCodes(random: (length: number) => Uint8Array): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => (base32(random(CODE_BYTES)).match(/.{4}/g) ?? []).join('-'));
}

/** The canonical form of a typed code, or `undefined` when it cannot be one of ours. */
export function canonicalRecoveryCode(typed: string): string | undefined {
  const compact = typed.replace(/[\s-]/g, '').toUpperCase().replace(/[IL]/g, '1').replace(/O/g, '0');
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(compact) ? compact : undefined;
}

export function hashRecoveryCode(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
