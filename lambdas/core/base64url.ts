/**
 * Strict base64url (RFC 4648 §5, no padding, as RFC 7515 §2 requires for JWS).
 *
 * Node's `Buffer.from(s, 'base64url')` is lenient: it accepts padding, `+` and `/`, whitespace and
 * non-zero trailing bits, so one token could be spelled many ways (malleability that breaks
 * denylists and caches keyed on the raw string). `decodeCanonical` accepts only the one canonical
 * spelling: the alphabet `[A-Za-z0-9_-]`, a length that is not 1 mod 4, and a re-encoding that is
 * byte-for-byte the input (which rejects non-zero trailing bits, RFC 4648 §3.5).
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function encode(bytes: Uint8Array | string): string {
  return Buffer.from(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes).toString('base64url');
}

/** Returns the decoded bytes, or `undefined` when `text` is not canonical base64url. */
export function decodeCanonical(text: string): Buffer | undefined {
  if (text.length % 4 === 1 || !ALPHABET.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
