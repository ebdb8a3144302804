/**
 * POST /revoke (RFC 7009) and logout-everywhere.
 *
 * RFC 7009 §2.2: the server answers 200 whether or not the token was valid, so that the endpoint
 * reveals nothing; invalid tokens simply change nothing. The token type is found by shape
 * (`token_type_hint` is only a hint, §2.1): a refresh token revokes its whole session (family,
 * plus the session denylist so its access tokens stop at once); an access token, once its
 * signature and issuer/audience verify, is denied until it expires.
 *
 * A refresh token revokes its family even when it is no longer the current one (any token the
 * family issued carries a valid tag: a logout racing a refresh of the same token must still end
 * the session, whichever of the two lands first); a token the family did not issue changes nothing.
 */
import type { AccessTokenClaims } from './token-model.ts';
import { hasValidTag, parseRefreshToken } from './refresh-token.ts';
import { revocationAt, type IssuerDeps, type RevocationLifetimes } from './token-issuance.ts';
import type { SessionRevocation, TokenDenylist } from './ports.ts';

export interface RevocationDeps extends Pick<IssuerDeps, 'config' | 'sessions' | 'clock'> {
  readonly denylist: TokenDenylist;
  /** Verifies an access token's signature, iss and aud; `undefined` if it is not one of ours. */
  readonly verifyAccessToken: (token: string, nowSeconds: number) => Promise<AccessTokenClaims | undefined>;
}

export type RevocationResult = 'session_revoked' | 'access_token_revoked' | 'nothing_to_revoke';

export async function revokeToken(token: string, deps: RevocationDeps): Promise<RevocationResult> {
  const nowMs = deps.clock.nowMs();
  const nowSeconds = Math.floor(nowMs / 1000);
  const refresh = parseRefreshToken(token);
  if (refresh !== undefined) {
    // Only a token the family issued (its tag verifies under the family's key) may end it: a token
    // with any character changed, or another user's parts spliced in, changes nothing (the same
    // rule /refresh applies), so knowing part of a token never lets anyone end a session.
    const tokenKey = await deps.sessions.familyTokenKey(refresh.sub, refresh.fid);
    if (tokenKey === undefined || !hasValidTag(refresh, tokenKey)) return 'nothing_to_revoke';
    const revoked = await deps.sessions.revokeFamily(refresh.sub, refresh.fid, revocationAt(deps.config, nowMs, 'logout'));
    return revoked ? 'session_revoked' : 'nothing_to_revoke';
  }
  const claims = await deps.verifyAccessToken(token, nowSeconds);
  if (claims === undefined) return 'nothing_to_revoke';
  await deps.denylist.denyToken(claims.sub, claims.jti, claims.exp + deps.config.clockSkewSeconds);
  return 'access_token_revoked';
}

/** Logout everywhere: every session of `sub`, and every access token already issued to it. */
export async function revokeAllSessions(
  sub: string,
  deps: Pick<IssuerDeps, 'sessions' | 'clock'> & { readonly config: RevocationLifetimes },
  reason: 'logout_all' | 'admin' | 'user_disabled' | 'account_deleted' = 'logout_all',
): Promise<number> {
  return deps.sessions.revokeAllFamilies(sub, revocationAt(deps.config, deps.clock.nowMs(), reason));
}

/**
 * Ends one session of `sub`, named by its public `sid`: the family is revoked and its `sid` denied,
 * so its access tokens stop at once. Only `sub`'s own families are searched, so a `sid` of another
 * user is simply not found (OWASP ASVS 5 V7.5: users terminate their own sessions). False when `sub`
 * has no active session with that `sid`.
 */
export async function revokeSessionBySid(
  sub: string,
  sid: string,
  deps: Pick<IssuerDeps, 'sessions' | 'clock'> & { readonly config: RevocationLifetimes },
  reason: Extract<SessionRevocation['reason'], 'logout' | 'admin'>,
): Promise<boolean> {
  const nowMs = deps.clock.nowMs();
  const family = (await deps.sessions.listFamilies(sub, Math.floor(nowMs / 1000))).find((candidate) => candidate.sid === sid);
  if (family === undefined) return false;
  return deps.sessions.revokeFamily(sub, family.fid, revocationAt(deps.config, nowMs, reason));
}

/**
 * Ends every session of `sub` except `keepSid` (the caller's own), each at once: its family is
 * revoked and its `sid` denied, so its access tokens stop at the authorizer now, not at expiry
 * (OWASP ASVS 5 V7.4.3 / V7.5.2: a credential change ends the other sessions). The kept session's
 * access and refresh tokens keep working. Each session's `sid` is denied before its family is
 * revoked (`SessionStore.endSession`), so that after a fault the same call, run again, still finds
 * the family active and finishes. One by one: each is a read-modify-write of the user's one
 * revocation item, so parallel writes would only contend for its version.
 * Returns how many active sessions it ended.
 */
export async function revokeOtherSessions(
  sub: string,
  keepSid: string,
  deps: Pick<IssuerDeps, 'sessions' | 'clock'> & { readonly config: RevocationLifetimes },
  reason: Extract<SessionRevocation['reason'], 'password_changed' | 'admin'>,
): Promise<number> {
  const nowMs = deps.clock.nowMs();
  const revocation = revocationAt(deps.config, nowMs, reason);
  const others = (await deps.sessions.listFamilies(sub, revocation.nowSeconds)).filter((family) => family.sid !== keepSid);
  let ended = 0;
  for (const family of others) if (await deps.sessions.endSession(sub, family, revocation)) ended += 1;
  return ended;
}
