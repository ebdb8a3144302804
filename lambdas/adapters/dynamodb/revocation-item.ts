/**
 * The user's revocation item in DynamoDB JSON, both ways. Shared by the authorizer's reader (raw
 * JSON over SigV4) and the writers (the SDK), whose attribute values have the same shape.
 *
 * Item: pk `DENY#SUB#<sub>`, sk `DENY`; logout everywhere as `notBefore` (seconds), `notBeforeMs`,
 * `expiresAt` (its until) and `reason`; `sids` and `jtis` maps of id -> until; the overflow cutoff
 * as `issuedBy` and `issuedByUntil`; `version` (the writers' optimistic lock); `ttl`. Items written
 * by earlier versions (logout everywhere only, no `version`) read as a state with a logout.
 *
 * Anything present but malformed makes the whole item `'unreadable'` (the authorizer denies).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { NO_REVOCATIONS, latestUntil, type RevocationState, type StoredRevocationState } from '../../core/denylist-policy.ts';
import { DENYLIST_SK, revocationKey } from '../../core/token-model.ts';

export interface StoredItem {
  readonly state: StoredRevocationState;
  /** `undefined`: no item; 0: an item without a version (written by an earlier release). */
  readonly version: number | undefined;
}

export function parseRevocationItem(item: unknown): StoredItem {
  if (item === undefined) return { state: NO_REVOCATIONS, version: undefined };
  if (!isRecord(item)) return { state: 'unreadable', version: undefined };
  const version = optionalNumber(item, 'version') ?? 0;
  const unreadable = { state: 'unreadable', version } as const;
  const notBefore = optionalNumber(item, 'notBefore');
  const notBeforeMs = optionalNumber(item, 'notBeforeMs');
  const logoutUntil = optionalNumber(item, 'expiresAt');
  const reason = item.reason === undefined ? 'logout_all' : stringValue(item.reason);
  const issuedBy = optionalNumber(item, 'issuedBy');
  const issuedByUntil = optionalNumber(item, 'issuedByUntil');
  const sessions = optionalMap(item, 'sids');
  const tokens = optionalMap(item, 'jtis');
  if ([notBefore, notBeforeMs, logoutUntil, issuedBy, issuedByUntil, version].some((value) => Number.isNaN(value))) return unreadable;
  if (reason === undefined || sessions === 'unreadable' || tokens === 'unreadable') return unreadable;
  // A logout needs its instant and its until; the cutoff needs both of its numbers.
  if ((notBefore === undefined) !== (logoutUntil === undefined)) return unreadable;
  if ((issuedBy === undefined) !== (issuedByUntil === undefined)) return unreadable;
  const state: RevocationState = {
    logout:
      notBefore === undefined || logoutUntil === undefined
        ? undefined
        : // Items written before `notBeforeMs` existed: the last millisecond of their second.
          { atSeconds: notBefore, atMs: notBeforeMs ?? notBefore * 1000 + 999, until: logoutUntil, reason },
    cutoff: issuedBy === undefined || issuedByUntil === undefined ? undefined : { iatSeconds: issuedBy, until: issuedByUntil },
    sessions: sessions ?? new Map(),
    tokens: tokens ?? new Map(),
  };
  return { state, version };
}

export function revocationItem(sub: string, state: RevocationState, version: number): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    pk: { S: revocationKey(sub) },
    sk: { S: DENYLIST_SK },
    version: N(version),
    ttl: N(latestUntil(state)),
  };
  if (state.logout !== undefined) {
    item.notBefore = N(state.logout.atSeconds);
    item.notBeforeMs = N(state.logout.atMs);
    item.expiresAt = N(state.logout.until);
    item.reason = { S: state.logout.reason };
  }
  if (state.cutoff !== undefined) {
    item.issuedBy = N(state.cutoff.iatSeconds);
    item.issuedByUntil = N(state.cutoff.until);
  }
  if (state.sessions.size > 0) item.sids = mapValue(state.sessions);
  if (state.tokens.size > 0) item.jtis = mapValue(state.tokens);
  return item;
}

const N = (value: number): AttributeValue => ({ N: String(value) });

function mapValue(entries: ReadonlyMap<string, number>): AttributeValue {
  const out: Record<string, AttributeValue> = {};
  for (const [id, until] of entries) out[id] = N(until);
  return { M: out };
}

/** `undefined` when absent, `NaN` when present but not a number. */
function optionalNumber(item: Record<string, unknown>, name: string): number | undefined {
  const value = item[name];
  return value === undefined ? undefined : numberValue(value);
}

function numberValue(value: unknown): number {
  if (!isRecord(value) || typeof value.N !== 'string') return Number.NaN;
  const parsed = Number(value.N);
  return Number.isFinite(parsed) ? parsed : Number.NaN;
}

function stringValue(value: unknown): string | undefined {
  return isRecord(value) && typeof value.S === 'string' ? value.S : undefined;
}

function optionalMap(item: Record<string, unknown>, name: string): Map<string, number> | undefined | 'unreadable' {
  const value = item[name];
  if (value === undefined) return undefined;
  if (!isRecord(value) || !isRecord(value.M)) return 'unreadable';
  const out = new Map<string, number>();
  for (const [id, until] of Object.entries(value.M)) {
    const parsed = numberValue(until);
    if (Number.isNaN(parsed)) return 'unreadable';
    out.set(id, parsed);
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
