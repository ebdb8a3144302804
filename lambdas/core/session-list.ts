/**
 * GET /sessions: a user's own active sessions as they are shown to that user (OWASP ASVS 5 V7.5,
 * "the user can view and terminate their active sessions"). Only public facts leave: the `sid`, the
 * times, the client and scope; never the family id, a token hash or a key, which would let the
 * reader forge or replay refresh tokens.
 */
import type { RefreshFamily } from './ports.ts';

export interface SessionView {
  readonly sid: string;
  /** ISO 8601: when the user authenticated (the family's `auth_time`). */
  readonly created_at: string;
  /** ISO 8601: the last refresh; absent before the first. */
  readonly last_refreshed_at?: string;
  readonly client_id: string;
  readonly scope: string;
  /** True for the session of the access token that asked. */
  readonly current: boolean;
}

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString();

/** The view of each family, oldest first; `currentSid` is the caller's token's `sid`. Pure. */
export function sessionViews(families: readonly RefreshFamily[], currentSid: string | undefined): SessionView[] {
  return [...families]
    .sort((a, b) => a.authTime - b.authTime || (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0))
    .map((family) => ({
      sid: family.sid,
      created_at: iso(family.authTime),
      ...(family.rotatedAt === undefined ? {} : { last_refreshed_at: iso(family.rotatedAt) }),
      client_id: family.clientId,
      scope: family.scope,
      current: family.sid === currentSid,
    }));
}
