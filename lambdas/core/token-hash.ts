/**
 * How the service keeps the bearer secrets it issues (refresh tokens, trusted-device tokens): only
 * their SHA-256, base64url. Each secret carries 256 random bits, so a fast unsalted hash is enough
 * (no salt or stretching is needed, unlike passwords: nobody can enumerate 2^256 candidates), and
 * a dump of the table yields nothing a client could present.
 */
import { createHash } from 'node:crypto';

export function hashBearerToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
