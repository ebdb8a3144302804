/**
 * The user's own sessions as the service lists them (`GET /sessions`): parsed from `unknown`, so a
 * proxy's or an older service's answer in another shape is an error, never a half-read list.
 */
import { RequestRejectedError } from './errors.ts';

export interface SessionInfo {
  /** The session id (the `sid` claim of its access tokens). */
  readonly sid: string;
  /** When the user signed in, ISO 8601. */
  readonly createdAt: string;
  /** The last refresh, ISO 8601; absent before the first. */
  readonly lastRefreshedAt: string | undefined;
  readonly clientId: string;
  readonly scope: string;
  /** The session this client holds. */
  readonly current: boolean;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function sessionOf(value: unknown): SessionInfo | undefined {
  if (!isRecord(value)) return undefined;
  const { sid, created_at: createdAt, last_refreshed_at: lastRefreshedAt, client_id: clientId, scope, current } = value;
  if (typeof sid !== 'string' || typeof createdAt !== 'string' || typeof clientId !== 'string' || typeof scope !== 'string' || typeof current !== 'boolean') {
    return undefined;
  }
  if (lastRefreshedAt !== undefined && typeof lastRefreshedAt !== 'string') return undefined;
  return { sid, createdAt, lastRefreshedAt, clientId, scope, current };
}

/** `{ "sessions": [...] }` → the list; anything else throws RequestRejectedError. */
export function parseSessionList(body: unknown, status: number): SessionInfo[] {
  const list = isRecord(body) ? body['sessions'] : undefined;
  const sessions = Array.isArray(list) ? list.map(sessionOf) : undefined;
  if (sessions === undefined || sessions.some((s) => s === undefined)) {
    throw new RequestRejectedError(status, undefined, 'The session list is not in the expected shape.');
  }
  return sessions as SessionInfo[];
}
