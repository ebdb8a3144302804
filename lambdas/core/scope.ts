/**
 * OAuth scopes (RFC 6749 §3.3): space-delimited, case-sensitive tokens of printable ASCII
 * excluding space, `"` and `\`.
 */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
export const MAX_SCOPES = 50;

export function isScopeToken(value: string): boolean {
  return value.length <= 128 && SCOPE_TOKEN.test(value);
}

/** `undefined` when the text is not a valid scope list. Duplicates collapse; order is kept. */
export function parseScope(text: string): string[] | undefined {
  const parts = text.split(' ').filter((part) => part !== '');
  if (parts.length > MAX_SCOPES || !parts.every(isScopeToken)) return undefined;
  return [...new Set(parts)];
}

export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/** The granted scopes: the requested ones if the user holds them all, else `undefined`. */
export function grantScopes(requested: readonly string[] | undefined, held: readonly string[]): string[] | undefined {
  if (requested === undefined) return [...held];
  const heldSet = new Set(held);
  return requested.every((scope) => heldSet.has(scope)) ? [...requested] : undefined;
}
