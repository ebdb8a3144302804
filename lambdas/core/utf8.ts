/**
 * Strict UTF-8 decoding (RFC 3629; RFC 7515 §5.2 step 3 and RFC 8259 §8.1 require UTF-8).
 *
 * Node's decoder turns every ill-formed sequence (overlong forms, encoded surrogates, code
 * points past U+10FFFF, truncations, stray continuation bytes) into U+FFFD, as the WHATWG
 * Encoding Standard requires. So a decoded text without U+FFFD came from well-formed bytes, and
 * one with it is well-formed only if it encodes back to exactly the same bytes (a genuine,
 * encoded U+FFFD). Same answer as `isUtf8` from `node:buffer` (a property test checks), without
 * importing that module, which costs the authorizer's cold start about a millisecond.
 */
export function decodeUtf8Strict(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  if (text.indexOf('\uFFFD') !== -1 && !Buffer.from(text, 'utf8').equals(bytes)) return undefined;
  return text;
}
