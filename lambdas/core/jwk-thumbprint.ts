/**
 * RFC 7638 JWK thumbprints (our `kid`), computed with node:crypto only: the one implementation
 * for the issuer, the JWKS and the authorizer. A unit test checks it against jose's
 * `calculateJwkThumbprint` and the RFC 7638 §3.1 example.
 */
import { createHash } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * RFC 7638 §3.2: the JSON object of the REQUIRED members only, in lexicographic order, without
 * whitespace; §3.1: hashed with SHA-256 and base64url-encoded (RFC 7515 §2, no padding).
 * EC (RFC 7518 §6.2.1): crv, kty, x, y. RSA (RFC 7518 §6.3.1): e, kty, n.
 */
export function jwkThumbprint(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' });
  let canonical: string;
  if (jwk.kty === 'EC' && typeof jwk.crv === 'string' && typeof jwk.x === 'string' && typeof jwk.y === 'string') {
    canonical = JSON.stringify({ crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y });
  } else if (jwk.kty === 'RSA' && typeof jwk.e === 'string' && typeof jwk.n === 'string') {
    canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  } else {
    throw new TypeError('RFC 7638 thumbprint: only EC and RSA public keys are supported');
  }
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
