/**
 * Which presented refresh token counts as what: the reuse-detection rule of refresh-token rotation
 * (RFC 9700 §4.14.2, OAuth 2.0 Security BCP: "refresh token rotation") with a grace period for
 * retries and races, as a pure function of the family as stored. The store's rotation is one
 * conditional write ("rotate if the presented token is current and the family active"); when that
 * condition fails, the store hands the item it read back (DynamoDB
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD`) to `refusedRotation`, which says what the
 * refusal means. The store itself decides nothing.
 *
 *   no family, or a tag the family key did not make,
 *   or a generation the family never reached          → unknown    (not ours: 401, nothing changes)
 *   family revoked, or past either expiry              → inactive   (401, nothing changes)
 *   presented = current                                → current    (rotate it)
 *   current = the successor this request minted        → own retry  (the write already happened)
 *   presented = the previous token, superseded less
 *   than the grace period ago                          → grace      (hand out the same successor)
 *   any other generation this family issued            → reuse      (revoke the family)
 *
 * The grace period answers clients that refresh from two threads at once or retry after a lost
 * response (FAPI 2.0 Security Profile §5.3.2.1: a retry with the previous refresh token must
 * succeed; Cognito, Auth0 and Hydra offer the same window). It rotates nothing, so after it ends
 * exactly one token of the family is live.
 */
import { RetryableConflictError } from './errors.ts';
import type { RefreshFamily, Rotation, RotationResult } from './ports.ts';
import { hasValidTag, openSuccessor, tokenBody } from './refresh-token.ts';

/** A family as the store holds it, including what only the rotation rule needs. */
export interface StoredFamily extends RefreshFamily {
  /** SHA-256 of the body of the family's current (live) refresh token. */
  readonly currentHash: string;
  /** SHA-256 of the token the last rotation superseded; absent before the first rotation and after an undo. */
  readonly prevHash: string | undefined;
  /** Epoch seconds of the last rotation, when `prevHash` stopped being current. */
  readonly supersededAt: number | undefined;
  /** The current token's secret, sealed under the previous token (`sealSuccessor`). */
  readonly nextSealed: string | undefined;
  /** The family's key for refresh-token tags. */
  readonly tokenKey: Uint8Array;
  /** Epoch seconds of the revocation; absent while the family is not revoked. */
  readonly revokedAt: number | undefined;
}

type PresentedTokenClass =
  /** No such family, or a token this family did not issue: not a token of ours. */
  | 'unknown'
  /** The family is revoked or past its sliding or absolute expiry. */
  | 'inactive'
  /** The family's live token: it may be rotated. */
  | 'current'
  /**
   * The family's current token is the successor this very request minted: our own rotation, already
   * applied, seen again because the SDK retried a write whose answer was lost (timeout, 5xx).
   * `nextHash` is fresh randomness, so no other request can have written it.
   */
  | 'own_retry'
  /** The token the last rotation superseded, less than the grace period ago. */
  | 'grace'
  /** A token the family issued and superseded (RFC 9700 §4.14.2): the family is revoked. */
  | 'reuse';

/** What the rule needs of one presentation. */
export type Presentation = Pick<Rotation, 'presented' | 'presentedHash' | 'nextHash' | 'nowSeconds' | 'graceSeconds'>;

/** Alive at `nowSeconds`: not revoked, and before both its sliding and its absolute expiry. */
export function isFamilyActive(
  family: Pick<StoredFamily, 'revokedAt' | 'expiresAt' | 'absoluteExpiresAt'>,
  nowSeconds: number,
): boolean {
  return family.revokedAt === undefined && family.expiresAt > nowSeconds && family.absoluteExpiresAt > nowSeconds;
}

function withinGrace(family: StoredFamily, presented: Presentation): boolean {
  return (
    family.prevHash === presented.presentedHash &&
    presented.presented.generation + 1 === family.generation &&
    family.supersededAt !== undefined &&
    family.nextSealed !== undefined &&
    presented.nowSeconds - family.supersededAt < presented.graceSeconds
  );
}

/** Classifies a presented refresh token against its family as stored (`undefined`: no family). Pure. */
export function classifyPresentedToken(family: StoredFamily | undefined, presented: Presentation): PresentedTokenClass {
  if (family === undefined) return 'unknown';
  // The tag first: a token we did not mint changes nothing, whatever state its family is in.
  if (!hasValidTag(presented.presented, family.tokenKey)) return 'unknown';
  if (!isFamilyActive(family, presented.nowSeconds)) return 'inactive';
  if (family.currentHash === presented.presentedHash) return 'current';
  if (family.currentHash === presented.nextHash) return 'own_retry';
  // A generation the family has not reached: minted for a rotation that was undone (KMS failed).
  if (presented.presented.generation >= family.generation) return 'unknown';
  if (withinGrace(family, presented)) return 'grace';
  return 'reuse';
}

/**
 * What a rotation whose condition failed answers, given the family the store read back. The
 * condition is "current and active", so `current` cannot come back here; if it ever does (an item
 * changed in a way the condition and this rule read differently), nothing was written and the
 * client is told to retry rather than be logged out or handed a token.
 */
export function refusedRotation(family: StoredFamily | undefined, rotation: Presentation): RotationResult {
  const presentedClass = classifyPresentedToken(family, rotation);
  if (family === undefined || presentedClass === 'unknown') return { outcome: 'unknown' };
  switch (presentedClass) {
    case 'inactive':
      return { outcome: 'inactive' };
    case 'own_retry':
      return { outcome: 'rotated', family: toRefreshFamily(family), tokenKey: family.tokenKey };
    case 'grace': {
      const secret = family.nextSealed === undefined ? undefined : openSuccessor(rotation.presented, family.nextSealed);
      // The sealed secret must open under the presented token and be the current token's: else
      // the item is not what this rule wrote, and the client is asked to retry, not logged out.
      if (secret === undefined || tokenBody(family.sub, family.fid, family.generation, secret).hash !== family.currentHash) {
        throw new RetryableConflictError('The refresh token changed while it was presented; retry.');
      }
      return { outcome: 'resent', family: toRefreshFamily(family), tokenKey: family.tokenKey, successorSecret: secret };
    }
    case 'reuse':
      return { outcome: 'reused', family: toRefreshFamily(family) };
    case 'current':
      throw new RetryableConflictError('The refresh token changed while it was presented; retry.');
  }
}

/** The family as the rest of the core sees it: no hashes, keys or revocation bookkeeping. */
export function toRefreshFamily(family: StoredFamily): RefreshFamily {
  const { sub, fid, sid, username, scope, clientId, authTime, expiresAt, absoluteExpiresAt, generation, amr } = family;
  return { sub, fid, sid, username, scope, clientId, authTime, expiresAt, absoluteExpiresAt, generation, ...(amr === undefined ? {} : { amr }) };
}
