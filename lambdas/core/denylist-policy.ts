/**
 * Is an access token revoked? Pure: the claims, the denylist entries read for them, and the clock.
 *
 * Three entries can revoke a token (table design in the README): its own `jti`
 * (`DENY#JTI#<jti>`), its session (`DENY#SID#<sid>`, the refresh-token family), and its user
 * (`DENY#SUB#<sub>` with `notBefore`: logout everywhere revokes every token whose
 * `auth_time <= notBefore`, RFC 9068 §2.2.1). `<=`, because `auth_time` is whole seconds: a session
 * that began in the logout's own second began before it, since a login that starts after a logout
 * waits for the next second before issuing tokens (core/login.ts). DynamoDB's TTL deletes expired items only
 * eventually (typically within days), so an entry whose `expiresAt <= now` counts as absent.
 *
 * Fail closed: an entry that exists but cannot be read (no `expiresAt`, no `notBefore` on a user
 * entry) is taken to revoke the token; a present-but-garbled denylist item must never let a
 * token through.
 */
import type { AccessTokenClaims } from './token-model.ts';
import { denylistKey } from './token-model.ts';

export interface DenylistEntry {
  readonly pk: string;
  /** Epoch seconds; `undefined` when the item's attribute is missing or not a number. */
  readonly expiresAt: number | undefined;
  /** Only on user entries: epoch seconds of the logout-everywhere. */
  readonly notBefore: number | undefined;
}

export type RevocationReason = 'token revoked' | 'session revoked' | 'user logged out everywhere';

/** The three partition keys to read, in a fixed order: token, session, user. */
export function denylistKeysFor(claims: Pick<AccessTokenClaims, 'jti' | 'sid' | 'sub'>): readonly [string, string, string] {
  return [denylistKey.token(claims.jti), denylistKey.session(claims.sid), denylistKey.user(claims.sub)];
}

function isActive(entry: DenylistEntry | undefined, now: number): entry is DenylistEntry {
  if (entry === undefined) return false;
  return entry.expiresAt === undefined || entry.expiresAt > now;
}

/** `undefined` when the token stands; otherwise why it does not. */
export function revocationReason(
  claims: Pick<AccessTokenClaims, 'jti' | 'sid' | 'sub' | 'auth_time'>,
  entries: ReadonlyMap<string, DenylistEntry>,
  nowSeconds: number,
): RevocationReason | undefined {
  const [tokenKey, sessionKey, userKey] = denylistKeysFor(claims);
  if (isActive(entries.get(tokenKey), nowSeconds)) return 'token revoked';
  if (isActive(entries.get(sessionKey), nowSeconds)) return 'session revoked';
  const user = entries.get(userKey);
  if (isActive(user, nowSeconds) && (user.notBefore === undefined || claims.auth_time <= user.notBefore)) {
    return 'user logged out everywhere';
  }
  return undefined;
}
