/**
 * Which presented refresh token counts as what: the reuse-detection rule of refresh-token rotation
 * (RFC 9700 §4.14.2, OAuth 2.0 Security BCP: "refresh token rotation"), as a pure function of the
 * family as stored. The store's rotation is one conditional write ("rotate if the presented token
 * is current and the family active"); when that condition fails, the store hands the item it read
 * back (DynamoDB `ReturnValuesOnConditionCheckFailure: ALL_OLD`) to `refusedRotation`, which says
 * what the refusal means. The store itself decides nothing.
 *
 *   no family                                   → unknown   (not ours: 401, nothing changes)
 *   family revoked, or past either expiry       → inactive  (401, nothing changes)
 *   presented = current                         → current   (rotate it)
 *   current = the successor this request minted → own retry (the write already happened)
 *   anything else                               → reuse     (revoke the family)
 *
 * The family's previous hash and when it was superseded are inputs although no class reads them
 * yet: a grace period for racing refreshes of the token just superseded needs exactly them.
 */
import { RetryableConflictError } from './errors.ts';
import type { RefreshFamily, Rotation, RotationResult } from './ports.ts';

/** A family as the store holds it, including what only the rotation rule needs. */
export interface StoredFamily extends RefreshFamily {
  /** SHA-256 of the family's current (live) refresh token. */
  readonly currentHash: string;
  /** SHA-256 of the token the last rotation superseded; absent before the first rotation and after an undo. */
  readonly prevHash: string | undefined;
  /** Epoch seconds of the last rotation, when `prevHash` stopped being current. */
  readonly supersededAt: number | undefined;
  /** Epoch seconds of the revocation; absent while the family is not revoked. */
  readonly revokedAt: number | undefined;
}

type PresentedTokenClass =
  /** No such family (or an item we cannot read as one): not a token of ours. */
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
  /**
   * A live family, a token carrying its secret id, but not its current token: a rotated-out token
   * presented again (RFC 9700 §4.14.2), so the family is revoked.
   */
  | 'reuse';

/** What the rule needs of one presentation: the token's hash, the successor minted for it, the time. */
export type Presentation = Pick<Rotation, 'presentedHash' | 'nextHash' | 'nowSeconds'>;

/** Alive at `nowSeconds`: not revoked, and before both its sliding and its absolute expiry. */
export function isFamilyActive(
  family: Pick<StoredFamily, 'revokedAt' | 'expiresAt' | 'absoluteExpiresAt'>,
  nowSeconds: number,
): boolean {
  return family.revokedAt === undefined && family.expiresAt > nowSeconds && family.absoluteExpiresAt > nowSeconds;
}

/** Classifies a presented refresh token against its family as stored (`undefined`: no family). Pure. */
export function classifyPresentedToken(family: StoredFamily | undefined, presented: Presentation): PresentedTokenClass {
  if (family === undefined) return 'unknown';
  // Inactive first: a retry of our own rotation on a family revoked since is not a success.
  if (!isFamilyActive(family, presented.nowSeconds)) return 'inactive';
  if (family.currentHash === presented.presentedHash) return 'current';
  if (family.currentHash === presented.nextHash) return 'own_retry';
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
      return { outcome: 'rotated', family: toRefreshFamily(family) };
    case 'reuse':
      return { outcome: 'reused', family: toRefreshFamily(family) };
    case 'current':
      throw new RetryableConflictError('The refresh token changed while it was presented; retry.');
  }
}

/** The family as the rest of the core sees it: no hashes, no revocation bookkeeping. */
export function toRefreshFamily(family: StoredFamily): RefreshFamily {
  const { sub, fid, sid, username, scope, clientId, authTime, expiresAt, absoluteExpiresAt, generation } = family;
  return { sub, fid, sid, username, scope, clientId, authTime, expiresAt, absoluteExpiresAt, generation };
}
