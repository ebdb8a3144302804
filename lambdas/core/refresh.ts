/**
 * POST /refresh: refresh-token rotation with reuse detection (RFC 9700 §4.14.2, OAuth 2.0
 * Security BCP: "refresh token rotation").
 *
 * Happy path: one conditional DynamoDB write (`SessionStore.rotate`) and one KMS Sign, nothing
 * more. Timeline of the write's condition:
 *
 *   t0  family current = H(A)            client presents A
 *   t1  UpdateItem IF current = H(A) AND active AND not expired  SET current = H(B)
 *   t2  a second request presenting A fails the condition: current is H(B) ≠ H(A) → reuse
 *
 * What a failed condition means (unknown, inactive, our own retried write, a retry within the
 * grace period, reuse) is the rule in `refresh-classification.ts`, applied to the family the write
 * read back: a retry within the grace period costs that one refused write (its read) and one Sign,
 * and gets the successor the winning request minted, opened from `nextSealed` with the presented
 * token's secret.
 *
 *   t2' a second request presenting A within the grace period fails the condition, reads back
 *       prev = H(A), sealed(B) → answers B again and a new access token of the same session
 *
 * DynamoDB applies conditional writes to one item one at a time, so of racing refreshes of A
 * exactly one passes the condition: the family never forks.
 *
 * Order of write and Sign: the access token's claims (sub, scope, sid) live in the family item,
 * which the write returns (ALL_NEW), so the write comes first. If the Sign then fails, the rotation
 * is undone (current = H(A) again, conditional on current = H(B)) before answering 503: the client
 * keeps a working refresh token and a retry is not mistaken for reuse.
 */
import { DependencyUnavailableError, InvalidGrantError, AuthError } from './errors.ts';
import { hasValidTag, mintUntagged, parseRefreshToken, SEAL_IV_BYTES, sealSuccessor, tagToken, tokenBody } from './refresh-token.ts';
import { revocationAt, issueAccessToken, tokenResponse, type IssuerDeps, type TokenResponse } from './token-issuance.ts';
import type { RefreshFamily, Rotation } from './ports.ts';

export interface ReuseEvent {
  readonly sub: string;
  readonly sid: string;
  readonly revokedSessions: number;
}

export interface RefreshDeps extends IssuerDeps {
  /** Told when reuse is detected (for logs, metrics and alarms). */
  readonly onReuse: (event: ReuseEvent) => void;
}

interface RefreshOutcome {
  readonly response: TokenResponse;
  readonly family: RefreshFamily;
  /** `resent`: a retry within the grace period, answered with the successor already issued. */
  readonly outcome: 'rotated' | 'resent';
}

const INVALID = 'The refresh token is invalid, expired or revoked.';

export async function refresh(presented: string, deps: RefreshDeps): Promise<RefreshOutcome> {
  const parsed = parseRefreshToken(presented);
  if (parsed === undefined) throw new InvalidGrantError(INVALID);

  const { config } = deps;
  const nowMs = deps.clock.nowMs();
  const nowSeconds = Math.floor(nowMs / 1000);
  const next = mintUntagged(parsed.sub, parsed.fid, parsed.generation + 1, (n) => deps.random.bytes(n));
  const rotation: Rotation = {
    sub: parsed.sub,
    fid: parsed.fid,
    presented: parsed,
    presentedHash: parsed.hash,
    nextHash: next.hash,
    nextSealed: sealSuccessor(parsed, next.secret, deps.random.bytes(SEAL_IV_BYTES)),
    nowSeconds,
    // Sliding window (7 days by default), capped by the family's absolute lifetime.
    nextExpiresAt: nowSeconds + config.refreshTokenTtlSeconds,
    graceSeconds: config.refreshGraceSeconds,
  };

  const result = await deps.sessions.rotate(rotation);
  let refreshToken: string;
  switch (result.outcome) {
    case 'rotated':
      // The write matched the body's hash; the tag needs the family key that the write returned.
      // A body with a changed tag is not a token we issued: the rotation is undone, nothing issued.
      // (Only a holder of the live token can make one, so this costs nothing on the happy path.)
      if (!hasValidTag(parsed, result.tokenKey)) {
        await deps.sessions.undoRotation(rotation);
        throw new InvalidGrantError(INVALID);
      }
      refreshToken = tagToken(next, result.tokenKey);
      break;
    case 'resent': {
      // A retry or a racing request within the grace period: the successor already issued, again.
      const { family } = result;
      refreshToken = tagToken(tokenBody(family.sub, family.fid, family.generation, result.successorSecret), result.tokenKey);
      const access = await issueAccessToken(family, nowSeconds, deps).catch((error: unknown) => {
        throw error instanceof AuthError ? error : new DependencyUnavailableError('KMS', error);
      });
      return { response: tokenResponse(access, refreshToken, family, nowSeconds), family, outcome: 'resent' };
    }
    case 'reused': {
      const revocation = revocationAt(config, nowMs, 'reuse');
      const revokedSessions =
        config.reusePolicy === 'user'
          ? await deps.sessions.revokeAllFamilies(result.family.sub, revocation)
          : Number(await deps.sessions.revokeFamily(result.family.sub, result.family.fid, revocation));
      deps.onReuse({ sub: result.family.sub, sid: result.family.sid, revokedSessions });
      throw new InvalidGrantError(INVALID);
    }
    case 'unknown':
    case 'inactive':
      throw new InvalidGrantError(INVALID);
  }

  let access;
  try {
    access = await issueAccessToken(result.family, nowSeconds, deps);
  } catch (error) {
    await deps.sessions.undoRotation(rotation);
    throw error instanceof AuthError ? error : new DependencyUnavailableError('KMS', error);
  }
  return { response: tokenResponse(access, refreshToken, result.family, nowSeconds), family: result.family, outcome: 'rotated' };
}
