/**
 * Revocation state: one record per user (table design in the README), read by the authorizer in
 * one strongly consistent `GetItem` of at most 4 KB, which DynamoDB bills as one read unit
 * ("Read consistency" and "Read/write capacity mode" in the DynamoDB Developer Guide: a strongly
 * consistent read of an item up to 4 KB costs one read unit).
 *
 * The record holds four kinds of revocation:
 *  - `logout` (logout everywhere): every token whose `auth_time <= atSeconds` is denied while
 *    `until > now` (RFC 9068 §2.2.1). `<=`, because `auth_time` is whole seconds: a session that
 *    began in the logout's own second began before it, since a login that starts after a logout
 *    waits for the next second before issuing tokens (core/login.ts).
 *  - `sessions`: sid -> until. Every access token of a revoked session (refresh-token family).
 *  - `tokens`: jti -> until. Single access tokens revoked through RFC 7009.
 *  - `cutoff` (the overflow fallback): every token whose `iat <= iatSeconds` is denied while
 *    `until > now`.
 * Each entry lives until the last access token it can stop has expired (token lifetime plus clock
 * skew); DynamoDB's TTL deletes items only eventually (typically within days), so an entry whose
 * `until <= now` counts as absent and is pruned at the next write.
 *
 * Bounded: the record holds at most `MAX_REVOKED_ENTRIES` sessions and tokens together, with ids
 * of at most `MAX_REVOKED_ID_LENGTH` characters, which keeps it far below 4 KB (the README gives
 * the arithmetic; an integration test measures the read units at the cap). When one more entry
 * would not fit, the write folds every earlier entry into `cutoff` = now: all access tokens of the
 * user issued so far stop, which includes every token the folded entries stopped. It is safe,
 * since it only ever denies more, and self-healing: sessions that were not revoked keep their
 * refresh tokens, and their next refresh (in a later second) gets an access token the cutoff does
 * not touch; once `until` passes the cutoff is gone.
 *
 * Fail closed: a record that exists but cannot be read is `'unreadable'`, and revokes the token.
 */
import type { AccessTokenClaims } from './token-model.ts';

export interface UserLogout {
  readonly atSeconds: number;
  /** The same instant in milliseconds (login compares it with when it began, core/login.ts). */
  readonly atMs: number;
  readonly until: number;
  readonly reason: string;
}

export interface IssuedCutoff {
  readonly iatSeconds: number;
  readonly until: number;
}

export interface RevocationState {
  readonly logout: UserLogout | undefined;
  readonly cutoff: IssuedCutoff | undefined;
  /** sid -> epoch seconds until which its access tokens are denied. */
  readonly sessions: ReadonlyMap<string, number>;
  /** jti -> epoch seconds until which that access token is denied. */
  readonly tokens: ReadonlyMap<string, number>;
}

export const NO_REVOCATIONS: RevocationState = { logout: undefined, cutoff: undefined, sessions: new Map(), tokens: new Map() };

/** What a reader found: a state (an absent item is `NO_REVOCATIONS`), or an item it cannot read. */
export type StoredRevocationState = RevocationState | 'unreadable';

/** Sessions and tokens together; see the README for the size this allows. */
export const MAX_REVOKED_ENTRIES = 64;
/** Our sids are 22 characters and our jtis 36 (a UUID); anything longer goes straight to the cutoff. */
export const MAX_REVOKED_ID_LENGTH = 40;

export type RevocationReason =
  | 'token revoked'
  | 'session revoked'
  | 'user logged out everywhere'
  | 'issued before a revocation of all earlier tokens'
  | 'revocation state unreadable';

/** `undefined` when the token stands; otherwise why it does not. */
export function revocationReason(
  claims: Pick<AccessTokenClaims, 'jti' | 'sid' | 'auth_time' | 'iat'>,
  state: StoredRevocationState,
  nowSeconds: number,
): RevocationReason | undefined {
  if (state === 'unreadable') return 'revocation state unreadable';
  if (isLive(state.tokens.get(claims.jti), nowSeconds)) return 'token revoked';
  if (isLive(state.sessions.get(claims.sid), nowSeconds)) return 'session revoked';
  const { logout, cutoff } = state;
  if (logout !== undefined && logout.until > nowSeconds && claims.auth_time <= logout.atSeconds) return 'user logged out everywhere';
  if (cutoff !== undefined && cutoff.until > nowSeconds && claims.iat <= cutoff.iatSeconds) {
    return 'issued before a revocation of all earlier tokens';
  }
  return undefined;
}

function isLive(until: number | undefined, nowSeconds: number): boolean {
  return until !== undefined && until > nowSeconds;
}

export type RevocationChange =
  | { readonly kind: 'token'; readonly jti: string; readonly until: number }
  | { readonly kind: 'session'; readonly sid: string; readonly until: number }
  | ({ readonly kind: 'user' } & UserLogout);

/**
 * The state after `change`, judged at `nowSeconds` (the writer's clock when it read `state`).
 * Nothing ever moves backwards: a logout keeps the later of two instants and the later `until`,
 * whichever write lands last; entries only go when expired or folded into the cutoff.
 */
export function withRevocation(state: RevocationState, change: RevocationChange, nowSeconds: number): RevocationState {
  const sessions = liveEntries(state.sessions, nowSeconds);
  const tokens = liveEntries(state.tokens, nowSeconds);
  let logout = state.logout !== undefined && state.logout.until > nowSeconds ? state.logout : undefined;
  let cutoff = state.cutoff !== undefined && state.cutoff.until > nowSeconds ? state.cutoff : undefined;

  if (change.kind === 'user') {
    const { kind: _kind, ...next } = change;
    if (logout === undefined) logout = next;
    else {
      const later = next.atMs >= logout.atMs ? next : logout;
      logout = { ...later, until: Math.max(logout.until, next.until) };
    }
    return { logout, cutoff, sessions, tokens };
  }

  const [map, id] = change.kind === 'session' ? [sessions, change.sid] : [tokens, change.jti];
  if (id.length > MAX_REVOKED_ID_LENGTH) {
    // Not one of our ids; deny everything issued so far instead of growing the record.
    return { logout, cutoff: raiseCutoff(cutoff, nowSeconds, change.until), sessions, tokens };
  }
  const existing = map.get(id);
  if (existing === undefined && sessions.size + tokens.size >= MAX_REVOKED_ENTRIES) {
    // Overflow: every earlier entry becomes part of the cutoff; the new one stays precise.
    let until = change.until;
    for (const value of [...sessions.values(), ...tokens.values()]) until = Math.max(until, value);
    cutoff = raiseCutoff(cutoff, nowSeconds, until);
    sessions.clear();
    tokens.clear();
  }
  map.set(id, Math.max(existing ?? 0, change.until));
  return { logout, cutoff, sessions, tokens };
}

function raiseCutoff(cutoff: IssuedCutoff | undefined, nowSeconds: number, until: number): IssuedCutoff {
  if (cutoff === undefined) return { iatSeconds: nowSeconds, until };
  return { iatSeconds: Math.max(cutoff.iatSeconds, nowSeconds), until: Math.max(cutoff.until, until) };
}

function liveEntries(entries: ReadonlyMap<string, number>, nowSeconds: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, until] of entries) if (until > nowSeconds) out.set(id, until);
  return out;
}

/** The item may be deleted by TTL once nothing in it can deny a token any more. */
export function latestUntil(state: RevocationState): number {
  let until = Math.max(state.logout?.until ?? 0, state.cutoff?.until ?? 0);
  for (const value of state.sessions.values()) until = Math.max(until, value);
  for (const value of state.tokens.values()) until = Math.max(until, value);
  return until;
}
