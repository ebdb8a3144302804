/**
 * Reads an access token's `exp` (RFC 7519 §4.1.4) to know when to refresh, and its `sid` to know
 * which listed session is its own. The signature is NOT checked: the client only schedules and
 * compares with them; the authorizer is what verifies tokens. No `atob`
 * or `Buffer`, so it runs unchanged in browsers, React Native (Hermes) and Node.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url (RFC 4648 §5) without padding → bytes; undefined when it is not base64url. */
function base64UrlBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 === 1) return undefined;
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let out = 0;
  for (const char of text) {
    const value = ALPHABET.indexOf(char);
    if (value === -1) return undefined;
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[out++] = (buffer >> bits) & 0xff;
    }
  }
  return bytes;
}

function utf8(bytes: Uint8Array): string {
  if (typeof TextDecoder !== 'undefined') return new TextDecoder().decode(bytes);
  // Without TextDecoder, non-ASCII claims are garbled but `exp`, a number, reads the same.
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** The token's claims, unverified; undefined when the payload cannot be read. */
function unverifiedClaims(token: string): object | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined || payload.length > 16_384) return undefined;
  const bytes = base64UrlBytes(payload);
  if (bytes === undefined) return undefined;
  let claims: unknown;
  try {
    claims = JSON.parse(utf8(bytes));
  } catch {
    return undefined;
  }
  return typeof claims === 'object' && claims !== null ? claims : undefined;
}

/** The token's `exp` in seconds since the epoch, or undefined when it has none that can be read. */
export function accessTokenExpiry(token: string): number | undefined {
  const claims = unverifiedClaims(token);
  if (claims === undefined || !('exp' in claims)) return undefined;
  const { exp } = claims;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
}

/** The token's `sid` (its session), or undefined. */
export function accessTokenSid(token: string): string | undefined {
  const claims = unverifiedClaims(token);
  if (claims === undefined || !('sid' in claims)) return undefined;
  const { sid } = claims;
  return typeof sid === 'string' ? sid : undefined;
}
